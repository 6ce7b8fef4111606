#!/usr/bin/env python3
"""Cross-check vectors for event-stream message signing, produced by AWS's Transcribe streaming SDK.

`amazon-transcribe` (PyPI, Apache-2.0, by AWS) signs each audio event of its HTTP/2 input stream
with `amazon_transcribe.eventstream.EventSigner` and frames it with `EventStreamMessageSerializer`:
the signed envelope carries `:date` and `:chunk-signature` headers, each signature chained on the
previous one from the request's seed signature. This script drives those two classes with fixed
credentials, a fixed clock per message and random payloads, and writes every envelope byte for byte.
`EventStreamSigningTests` signs the same messages with `EventStreamSigner` and compares.

amazon-transcribe 0.6.4 pins awscrt~=0.26.1 while the test requirements pin awscrt 0.38.1; the two
classes used here need neither, so install it without dependencies:

    pip install --no-deps amazon-transcribe==0.6.4
    python3 scripts/gen-transcribe-eventstream-vectors.py [--out TestVectors/transcribe-eventstream/vectors.json]
"""

import argparse
import datetime
import json
import os
import random

from amazon_transcribe.auth import Credentials
from amazon_transcribe.eventstream import EventSigner, EventStreamMessageSerializer

SERIALIZER = EventStreamMessageSerializer()


def inner_message(rng, index):
    """An AudioEvent as Transcribe's client encodes it: three string headers and the audio bytes."""
    size = rng.choice([0, 1, 7, 64, 1000, 8192, rng.randrange(0, 20000)])
    audio = bytes(rng.randrange(256) for _ in range(size))
    headers = {":message-type": "event", ":event-type": "AudioEvent", ":content-type": "application/octet-stream"}
    if index % 3 == 1:
        headers = {":message-type": "event", ":event-type": f"Event{index}"}
    return SERIALIZER.serialize(headers, audio)


def stream_case(rng, name, region, service, start_ms, steps_ms, count):
    creds = Credentials(
        access_key_id="AKIDEXAMPLE",
        secret_access_key=rng.choice(
            ["wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "".join(rng.choice("abcdefXYZ0189+/") for _ in range(40))]
        ),
    )
    seed = bytes(rng.randrange(256) for _ in range(32))
    clock = {"ms": start_ms}
    signer = EventSigner(
        service, region, utc_now=lambda: datetime.datetime.fromtimestamp(clock["ms"] / 1000, tz=datetime.timezone.utc)
    )
    prior = seed
    messages = []
    for i in range(count + 1):
        payload = inner_message(rng, i) if i < count else b""  # the last envelope ends the stream
        headers = signer.sign(payload, prior, creds)
        prior = headers[":chunk-signature"]
        envelope = SERIALIZER.serialize(headers, payload)
        messages.append(
            {
                "milliseconds": clock["ms"],
                "payload_hex": payload.hex(),
                "signature": prior.hex(),
                "envelope_hex": envelope.hex(),
            }
        )
        clock["ms"] += rng.choice(steps_ms)
    return {
        "name": name,
        "region": region,
        "service": service,
        "access_key_id": creds.access_key_id,
        "secret_access_key": creds.secret_access_key,
        "seed_signature": seed.hex(),
        "messages": messages,
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default="TestVectors/transcribe-eventstream/vectors.json")
    parser.add_argument("--seed", type=int, default=20261204)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    base = 1_764_806_400_000  # 2025-12-04T00:00:00Z, in whole milliseconds (exact as a float)
    cases = [
        stream_case(rng, "transcribe-us-east-1", "us-east-1", "transcribe", base + 45_296_123, [20, 250, 1000], 6),
        # Across midnight UTC: the scope (and the key) of each message is its own date's.
        stream_case(rng, "across-midnight", "eu-west-1", "transcribe", base + 86_400_000 - 1_500, [700, 800], 5),
        stream_case(rng, "lex", "ap-southeast-2", "lex", base + 1_234_567, [1, 5, 17], 8),
        stream_case(rng, "empty-stream", "us-west-2", "transcribe", base + 999, [1], 0),
    ]
    for n in range(6):
        cases.append(
            stream_case(
                rng, f"random-{n}", rng.choice(["us-east-1", "eu-central-1", "sa-east-1"]),
                rng.choice(["transcribe", "bedrock", "lex"]), base + rng.randrange(0, 10 * 86_400_000),
                [rng.randrange(1, 3_000_000)], rng.randrange(1, 6),
            )
        )
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump({"generator": "amazon-transcribe 0.6.4 EventSigner + EventStreamMessageSerializer", "cases": cases}, f, indent=1)
        f.write("\n")
    print(f"wrote {len(cases)} streams, {sum(len(c['messages']) for c in cases)} envelopes to {args.out}")


if __name__ == "__main__":
    main()
