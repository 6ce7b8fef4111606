#!/usr/bin/env python3
"""Captures signed event-stream requests from two of AWS's own streaming clients, unchanged but for
their transport, for `SDKEventStreamCaptureTests`:

- amazon-transcribe 0.6.4 (PyPI, AWS's Python Transcribe streaming SDK): `TranscribeStreamingClient`
  with a session manager that answers at once with an empty 200 and keeps the request; the audio is
  sent through the client's own `AudioStream`. It signs the seed request with awscrt over the empty
  body's hash, with no `x-amz-content-sha256` and no `Content-Type` (read by the verifier's
  `eventStreamPaths`).
- the AWS SDK for Go v2's `service/transcribestreaming` (Debian 12's golang-github-aws-aws-sdk-go-v2-dev),
  through scripts/peers/go-transcribe-capture (built offline in GOPATH mode): it declares
  `X-Amz-Content-Sha256: STREAMING-AWS4-HMAC-SHA256-EVENTS` and `Content-Type: application/vnd.amazon.eventstream`.

Each case: the request as sent (method, target, headers), the whole body (the SDK's envelopes), the
audio chunks and the time it was signed at. Both clients sign with the clock, so the output differs
on every run; the committed file is one run.

    pip install --no-deps amazon-transcribe==0.6.4
    python3 scripts/gen-eventstream-sdk-vectors.py [--out TestVectors/eventstream-sdk-captures/cases.json]
"""

import argparse
import asyncio
import json
import os
import subprocess
import time

ACCESS_KEY_ID = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
CHUNKS = [[3, 256], [0, 1, 4096], [32768, 17, 8000, 1]]


def audio(i, size):
    return bytes((i * 31 + j * 7) & 0xFF for j in range(size))


async def python_case(sizes):
    from amazon_transcribe.auth import StaticCredentialResolver
    from amazon_transcribe.client import TranscribeStreamingClient
    from amazon_transcribe.response import Response

    class Answer:
        async def resolve_response(self):
            return Response(200, {"x-amzn-request-id": "capture"})

        async def consume_body(self):
            return b""

    class Session:
        async def make_request(self, uri, method, headers, body):
            self.request = (uri, method, headers, body)
            return Answer()

    client = TranscribeStreamingClient(
        region="us-east-1", credential_resolver=StaticCredentialResolver(ACCESS_KEY_ID, SECRET)
    )
    session = Session()
    client._session_manager = session
    now = int(time.time())
    stream = await client.start_stream_transcription(
        language_code="en-US", media_sample_rate_hz=16000, media_encoding="pcm"
    )
    chunks = [audio(i, n) for i, n in enumerate(sizes)]
    for chunk in chunks:
        await stream.input_stream.send_audio_event(audio_chunk=chunk)
    await stream.input_stream.end_stream()
    uri, method, headers, body = session.request
    data = b""
    while True:
        piece = body.read(65536)
        if not piece:
            break
        data += piece
    target = "/" + uri.split("://", 1)[1].split("/", 1)[1]
    return {
        "client": "amazon-transcribe 0.6.4 (Python)",
        "method": method,
        "target": target,
        "headers": [[k, v] for k, v in headers],
        "body_hex": data.hex(),
        "audio_hex": [c.hex() for c in chunks],
        "now": now,
    }


def go_case(sizes):
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "peers", "go-transcribe-capture")
    env = dict(os.environ, GO111MODULE="off", GOPATH="/usr/share/gocode", GOFLAGS="")
    env.setdefault("GOCACHE", "/tmp/sigv4-gocache")
    out = subprocess.run(
        ["go", "run", "main.go", ACCESS_KEY_ID, SECRET] + [str(n) for n in sizes],
        cwd=here, env=env, check=True, capture_output=True, text=True,
    ).stdout
    case = json.loads(out)
    case["client"] = "aws-sdk-go-v2 service/transcribestreaming (Debian 12)"
    return case


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default="TestVectors/eventstream-sdk-captures/cases.json")
    args = parser.parse_args()
    cases = []
    for sizes in CHUNKS:
        cases.append(asyncio.run(python_case(sizes)))
        cases.append(go_case(sizes))
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(
            {
                "generator": "scripts/gen-eventstream-sdk-vectors.py",
                "secret_access_key": SECRET,
                "access_key_id": ACCESS_KEY_ID,
                "cases": cases,
            },
            f,
            indent=1,
        )
        f.write("\n")
    print(f"{len(cases)} cases -> {args.out}")


if __name__ == "__main__":
    main()
