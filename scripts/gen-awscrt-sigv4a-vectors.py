#!/usr/bin/env python3
"""Differential SigV4a vectors: random requests signed by awscrt (aws-c-auth) with
AWS4-ECDSA-P256-SHA256, header and query form.

ECDSA is randomized, so the Swift test (SigV4aDifferentialTests) cannot compare signatures: it
signs each request again with SigV4aSigner, compares what both signers added (headers, or the
query parameters but the signature) and checks that awscrt's signature verifies under the key
SigV4aSigner derives, over the string to sign SigV4aSigner computes. A different canonical
request on our side would make awscrt's signature fail to verify.

Usage:
    pip install -r scripts/requirements-test.txt   # awscrt==0.38.1
    python3 scripts/gen-awscrt-sigv4a-vectors.py [--seed 9] [--count 300]
        [--out TestVectors/awscrt-sigv4a/cases.json]
Deterministic for a seed and count but for the signatures (ECDSA).
"""

import argparse
import datetime
import hashlib
import json
import random

import awscrt
from awscrt.auth import (
    AwsCredentialsProvider,
    AwsSignatureType,
    AwsSignedBodyHeaderType,
    AwsSigningAlgorithm,
    AwsSigningConfig,
    aws_sign_request,
)
from awscrt.http import HttpHeaders, HttpRequest

EXPECTED_AWSCRT = "0.38.1"
REGION_SETS = ["us-east-1", "*", "us-east-1,us-west-2", "eu-west-3", "ap-south-1,eu-central-1,us-east-2"]
SERVICES = ["s3", "service", "execute-api", "sts"]
WORDS = ["a", "b", "key", "Key", "photos", "2024", "index.html", "my-file", "data_set", "x~y", "v1", "Z"]
ESCAPES = ["%20", "%2F", "%E1%88%B4", "%24", "%3A", "%40", "%2B", "%3D", "%26", "%C3%A9", "%25"]
HEADERS = ["X-Amz-Meta-Foo", "x-amz-meta-bar", "Content-Type", "X-Custom", "Accept", "Cache-Control",
           "Range", "x-amz-acl", "X-Amz-Target", "Content-Language", "ZZ-Last", "a-first"]


def token(rng):
    parts = [rng.choice(WORDS)]
    if rng.random() < 0.3:
        parts.append(rng.choice(ESCAPES))
    if rng.random() < 0.3:
        parts.append(rng.choice(WORDS))
    return "".join(parts)


def gen_target(rng):
    path = "/" + "/".join(token(rng) for _ in range(rng.randint(0, 3)))
    if rng.random() < 0.2 and not path.endswith("/"):
        path += "/"
    params = []
    for _ in range(rng.choice([0, 0, 1, 2, 3, 5])):
        name = token(rng)
        if params and rng.random() < 0.15:
            name = params[-1][0]  # a repeated name
        value = token(rng) if rng.random() < 0.8 else ""
        params.append((name, value))
    if params:
        path += "?" + "&".join(f"{n}={v}" for n, v in params)
    return path


def gen_headers(rng):
    headers = []
    for _ in range(rng.randint(0, 4)):
        name = rng.choice(HEADERS)
        value = rng.choice(["text/plain", "bytes=0-9", " spaced   value ", "1", "private", "Foo.Bar", "x  y"])
        headers.append((name, value))
    return headers


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=9)
    ap.add_argument("--count", type=int, default=300)
    ap.add_argument("--out", default="TestVectors/awscrt-sigv4a/cases.json")
    args = ap.parse_args()
    if awscrt.__version__ != EXPECTED_AWSCRT:
        raise SystemExit(f"awscrt {awscrt.__version__} installed, {EXPECTED_AWSCRT} expected")
    rng = random.Random(args.seed)
    cases = []
    for i in range(args.count):
        service = rng.choice(SERVICES)
        s3 = service == "s3"
        mode = rng.choice(["header", "query"])
        method = rng.choice(["GET", "PUT", "POST", "DELETE", "HEAD"])
        body = bytes(rng.getrandbits(8) for _ in range(rng.choice([0, 0, 5, 100]))) if method in ("PUT", "POST") else b""
        host = rng.choice(["example.amazonaws.com", "bucket.s3.amazonaws.com", "localhost:8080"])
        target = gen_target(rng)
        headers = [("Host", host)] + gen_headers(rng)
        access, secret = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
        if rng.random() < 0.3:
            access, secret = f"AKIA{i:016d}", f"secret/{i}+{rng.getrandbits(40):x}"
        session = f"token{i}/+=" if rng.random() < 0.25 else None
        region_set = rng.choice(REGION_SETS)
        seconds = 1_700_000_000 + rng.randint(0, 10**8)
        date = datetime.datetime.fromtimestamp(seconds, tz=datetime.timezone.utc)
        expires = rng.choice([1, 60, 3600, 604800])
        if mode == "header":
            payload = hashlib.sha256(body).hexdigest()
        else:
            payload = "UNSIGNED-PAYLOAD" if s3 else hashlib.sha256(body).hexdigest()
        config = AwsSigningConfig(
            algorithm=AwsSigningAlgorithm.V4_ASYMMETRIC,
            signature_type=AwsSignatureType.HTTP_REQUEST_HEADERS if mode == "header"
            else AwsSignatureType.HTTP_REQUEST_QUERY_PARAMS,
            credentials_provider=AwsCredentialsProvider.new_static(access, secret, session),
            region=region_set, service=service, date=date,
            use_double_uri_encode=not s3, should_normalize_uri_path=not s3,
            signed_body_value=payload,
            signed_body_header_type=AwsSignedBodyHeaderType.X_AMZ_CONTENT_SHA_256 if s3 and mode == "header"
            else AwsSignedBodyHeaderType.NONE,
            expiration_in_seconds=expires if mode == "query" else None,
        )
        request = HttpRequest(method, target, HttpHeaders(headers))
        signed = aws_sign_request(request, config).result(10)
        # aws-c-auth appends what it adds after the request's own fields (whose values HttpHeaders
        # may have trimmed): the added headers are the suffix past them.
        after = list(signed.headers)
        assert [n.lower() for n, _ in after[:len(headers)]] == [n.lower() for n, _ in headers], after
        added = [[n, v] for n, v in after[len(headers):]]
        cases.append({
            "name": f"case-{i:04d}", "mode": mode, "method": method, "target": target, "headers": headers,
            "body_hex": body.hex(), "payload_hash": payload, "s3": s3, "service": service,
            "region_set": region_set.split(","), "access_key_id": access, "secret_access_key": secret,
            "session_token": session, "timestamp": date.strftime("%Y%m%dT%H%M%SZ"), "expires": expires,
            "signed_target": signed.path, "added_headers": added,
        })
    with open(args.out, "w") as f:
        json.dump({"generator": "scripts/gen-awscrt-sigv4a-vectors.py", "awscrt": awscrt.__version__,
                   "seed": args.seed, "cases": cases}, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(f"wrote {len(cases)} cases to {args.out}")


if __name__ == "__main__":
    main()
