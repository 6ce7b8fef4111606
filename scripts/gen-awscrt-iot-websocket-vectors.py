#!/usr/bin/env python3
"""AWS IoT WebSocket handshakes presigned by awscrt (aws-c-auth), as the AWS IoT Device SDK v2
signs them (`mqtt_connection_builder.websockets_with_default_aws_signing`: query parameters, service
`iotdevicegateway`, no session token in the canonical request, and no X-Amz-Expires), for
PresignWithoutExpiresTests.

Each case: the handshake request awscrt's MQTT client sends (GET, a path and query of its own, Host,
Upgrade, Connection, Sec-WebSocket-Key, -Version, -Protocol), signed at a fixed time with a random key
and region; a few with a session token (which aws-c-auth adds after signing) and a few for
another service than iotdevicegateway (which a verifier must refuse without X-Amz-Expires).

Usage:
    pip install -r scripts/requirements-test.txt   # awscrt==0.38.1
    python3 scripts/gen-awscrt-iot-websocket-vectors.py [--seed 3] [--count 40]
        [--out TestVectors/awscrt-iot-websocket/cases.json]
Deterministic for a seed and count.
"""
import argparse
import base64
import datetime
import json
import random

import awscrt
from awscrt.auth import AwsCredentialsProvider, AwsSignatureType, AwsSigningAlgorithm, AwsSigningConfig, aws_sign_request
from awscrt.http import HttpHeaders, HttpRequest

EXPECTED_AWSCRT = "0.38.1"
REGIONS = ["us-east-1", "eu-west-1", "ap-northeast-1", "us-west-2"]
PATHS = ["/mqtt", "/mqtt?x-amz-customauthorizer-name=a", "/mqtt?client=7&b=%20x", "/mqtt/"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--count", type=int, default=40)
    parser.add_argument("--out", default="TestVectors/awscrt-iot-websocket/cases.json")
    args = parser.parse_args()
    assert awscrt.__version__ == EXPECTED_AWSCRT, awscrt.__version__
    rng = random.Random(args.seed)
    date = datetime.datetime(2026, 12, 4, 9, 0, 0, tzinfo=datetime.timezone.utc)
    cases = []
    for i in range(args.count):
        key = "AKID" + "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(16))
        secret = base64.b64encode(bytes(rng.randrange(256) for _ in range(30))).decode()
        service = "iotdevicegateway" if i % 8 != 7 else "execute-api"
        # (A token only for IoT, whose rules take it unsigned: another service signs it.)
        token = base64.b64encode(bytes(rng.randrange(256) for _ in range(40))).decode() \
            if i % 5 == 4 and service == "iotdevicegateway" else None
        region = rng.choice(REGIONS)
        host = f"a1b2c3-ats.iot.{region}.amazonaws.com"
        headers = [
            ("Host", host), ("Upgrade", "websocket"), ("Connection", "Upgrade"),
            ("Sec-WebSocket-Key", base64.b64encode(bytes(rng.randrange(256) for _ in range(16))).decode()),
            ("Sec-WebSocket-Protocol", "mqtt"), ("Sec-WebSocket-Version", "13"),
        ]
        request = HttpRequest("GET", rng.choice(PATHS), HttpHeaders(headers))
        config = AwsSigningConfig(
            algorithm=AwsSigningAlgorithm.V4, signature_type=AwsSignatureType.HTTP_REQUEST_QUERY_PARAMS,
            credentials_provider=AwsCredentialsProvider.new_static(key, secret, token),
            region=region, service=service, date=date, omit_session_token=True)
        aws_sign_request(request, config).result()
        # With omit_session_token, aws-c-auth leaves the token out of what it signs and adds it to the
        # query after signing, as AWS IoT expects.
        target = request.path
        assert "X-Amz-Expires" not in target and target.count("X-Amz-Security-Token") == (1 if token else 0)
        cases.append({
            "method": "GET", "target": target, "headers": [[n, v] for n, v in request.headers],
            "access_key_id": key, "secret_access_key": secret, "session_token": token,
            "region": region, "service": service, "date": date.strftime("%Y%m%dT%H%M%SZ"),
        })
    with open(args.out, "w") as f:
        json.dump({"generator": "scripts/gen-awscrt-iot-websocket-vectors.py", "awscrt": EXPECTED_AWSCRT,
                   "seed": args.seed, "cases": cases}, f, indent=1)
        f.write("\n")
    print(f"wrote {len(cases)} cases to {args.out}")


if __name__ == "__main__":
    main()
