#!/usr/bin/env python3
"""Runs AWS's Python Transcribe streaming client (amazon-transcribe 0.6.4, PyPI) against an endpoint
of your choosing: `TranscribeStreamingClient` unchanged (its awscrt SigV4 signer, its `EventSigner`
envelopes, its awscrt HTTP/2 session manager with ALPN h2, its response parser) but for two things:
the endpoint (a `StaticEndpointResolver`, the package's own `BaseEndpointResolver`) and the
certificate its TLS context trusts (the session manager's `io.ClientTlsContext` rebuilt from
`io.TlsContextOptions` with `override_default_trust_store_from_path`). `sigv4 serve`'s tests point it
at the gateway.

It sends audio chunk i (byte j is i*31 + j*7, as scripts/peers/go-transcribe-capture) with
`stream.input_stream.send_audio_event`, then waits for the answer's next event before it sends the
next chunk (a conversation, as a live microphone would have it), ends with `end_stream()` and reads
the answer's events to their end. It prints one JSON object:

    {"sent": 3, "events": [{"type": "TranscriptEvent", "transcripts": ["..."]}], "error": "",
     "error_code": "", "status_code": 0}

An event of a type the client does not model is `{"type": "None"}` (its parser returns None); an
error is the exception's class, and for a refused request the status, code and message the client's
`parse_exception` read from the answer (`x-amzn-errortype` and the JSON body).

Usage (amazon-transcribe is installed with `pip install --no-deps amazon-transcribe==0.6.4`: it pins
an older awscrt than scripts/requirements-test.txt):

    TRANSCRIBE_ENDPOINT=https://127.0.0.1:PORT TRANSCRIBE_CA_FILE=cert.pem \
        python3 scripts/peers/python-transcribe-client.py <access key id> <secret> <chunk sizes...>
"""

import asyncio
import json
import os
import sys

from awscrt import io
from amazon_transcribe.auth import StaticCredentialResolver
from amazon_transcribe.client import TranscribeStreamingClient
from amazon_transcribe.endpoints import StaticEndpointResolver

# How long one answer may take to come back.
TIMEOUT = 20


def audio(i, size):
    return bytes((i * 31 + j * 7) & 0xFF for j in range(size))


def describe(event):
    if event is None:
        return {"type": "None"}
    described = {"type": type(event).__name__}
    transcript = getattr(event, "transcript", None)
    if transcript is not None:
        described["transcripts"] = [
            alternative.transcript for result in transcript.results for alternative in result.alternatives
        ]
    return described


async def converse(endpoint, ca_file, access_key_id, secret, sizes):
    report = {"sent": 0, "events": [], "error": "", "error_code": "", "status_code": 0}
    client = TranscribeStreamingClient(
        region="us-east-1",
        endpoint_resolver=StaticEndpointResolver(endpoint),
        credential_resolver=StaticCredentialResolver(access_key_id, secret),
    )
    if ca_file:
        # The one change to the client's transport: the same context it builds
        # (`io.ClientTlsContext(io.TlsContextOptions())`), trusting the test's certificate.
        options = io.TlsContextOptions()
        options.override_default_trust_store_from_path(ca_filepath=ca_file)
        client._session_manager._tls_ctx = io.ClientTlsContext(options)
    try:
        stream = await asyncio.wait_for(
            client.start_stream_transcription(language_code="en-US", media_sample_rate_hz=16000, media_encoding="pcm"),
            TIMEOUT,
        )
        events = stream.output_stream.__aiter__()
        for i, size in enumerate(sizes):
            await stream.input_stream.send_audio_event(audio_chunk=audio(i, size))
            report["sent"] += 1
            report["events"].append(describe(await asyncio.wait_for(events.__anext__(), TIMEOUT)))
        await stream.input_stream.end_stream()
        while True:
            try:
                report["events"].append(describe(await asyncio.wait_for(events.__anext__(), TIMEOUT)))
            except StopAsyncIteration:
                break
    except Exception as error:  # what the client raised, as the client shows it
        text = getattr(error, "message", None) or repr(error)
        report["error"] = f"{type(error).__name__}: {text}"
        report["error_code"] = str(getattr(error, "error_code", ""))
        report["status_code"] = getattr(error, "status_code", 0)
    return report


def main():
    if len(sys.argv) < 3:
        print("usage: python-transcribe-client.py <access key id> <secret> <chunk sizes...>", file=sys.stderr)
        sys.exit(2)
    endpoint = os.environ.get("TRANSCRIBE_ENDPOINT")
    if not endpoint:
        print("TRANSCRIBE_ENDPOINT is not set", file=sys.stderr)
        sys.exit(2)
    sizes = [int(n) for n in sys.argv[3:]]
    report = asyncio.run(converse(endpoint, os.environ.get("TRANSCRIBE_CA_FILE"), sys.argv[1], sys.argv[2], sizes))
    json.dump(report, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
