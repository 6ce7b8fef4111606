#!/usr/bin/env python3
"""Cross-check vectors for aws-chunked streaming uploads, produced by awscrt (aws-c-auth, aws-c-s3).

What the Python binding of awscrt can and cannot do (checked on awscrt 0.38.1):

* `awscrt.auth.aws_sign_request` signs whole HTTP requests only. `AwsSignatureType`
  has just HTTP_REQUEST_HEADERS and HTTP_REQUEST_QUERY_PARAMS (other values fail an
  assertion), and the native side always wraps the request with
  `aws_signable_new_http_request`. There is no chunk or trailing-headers signable,
  and the native aws-c-auth symbols (`aws_signable_new_chunk`, ...) are not exported
  from `_awscrt.abi3.so`. So awscrt-python cannot compute chunk signatures or
  `x-amz-trailer-signature`.
* It *can* sign the seed request of every variant: `signed_body_value` is a free
  string, so the STREAMING-* constants go into the canonical request and, with
  `signed_body_header_type=X_AMZ_CONTENT_SHA_256`, into `x-amz-content-sha256`.
* Its S3 client (aws-c-s3) really uploads with `STREAMING-UNSIGNED-PAYLOAD-TRAILER`
  when a trailing checksum is requested. We run it against an HTTP server on
  127.0.0.1 and record the exact seed headers and body it sends.

Output (TestVectors/awscrt-streaming/):
* `seed-signatures.json`: aws-c-auth seed signatures for a signed-chunk upload and a
  signed-trailer upload (plus chunk and trailer signatures from an independent
  hashlib/hmac implementation in this script, labelled `reference_python`, since
  awscrt cannot produce them).
* `s3-client-unsigned-trailer.json`: aws-c-s3 PutObject uploads with CRC32, CRC32C,
  SHA1 and SHA256 trailers: every header sent, the date aws-c-s3 chose, and the body
  split into the text before and after the payload.

Usage:
    pip install -r scripts/requirements-test.txt   # awscrt==0.38.1
    python3 scripts/gen-awscrt-streaming-vectors.py [--out TestVectors/awscrt-streaming]
"""

import argparse
import base64
import datetime
import hashlib
import hmac
import http.server
import io
import json
import os
import threading
import zlib

import awscrt
from awscrt import checksums, s3
from awscrt import io as crtio
from awscrt.auth import (
    AwsCredentialsProvider,
    AwsSignatureType,
    AwsSignedBodyHeaderType,
    AwsSigningAlgorithm,
    AwsSigningConfig,
    aws_sign_request,
)
from awscrt.http import HttpHeaders, HttpRequest

ACCESS_KEY = "AKIDEXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
REGION = "eu-west-3"
SERVICE = "s3"


def payload(size, salt):
    """Deterministic payload bytes: byte i = (i * 31 + salt) mod 256."""
    return bytes((i * 31 + salt) & 0xFF for i in range(size))


def signing_key(secret, datestamp, region, service):
    key = ("AWS4" + secret).encode()
    for part in (datestamp, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def reference_chain(seed, amz_date, scope, key, data, chunk_size, trailer):
    """Independent aws-chunked chunk/trailer signatures (hashlib/hmac), not awscrt."""
    empty = hashlib.sha256(b"").hexdigest()
    previous = seed
    signatures = []
    chunks = [data[i : i + chunk_size] for i in range(0, len(data), chunk_size)] + [b""]
    for chunk in chunks:
        sts = "\n".join(
            ["AWS4-HMAC-SHA256-PAYLOAD", amz_date, scope, previous, empty, hashlib.sha256(chunk).hexdigest()]
        )
        previous = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
        signatures.append(previous)
    result = {"chunk_sizes": [len(c) for c in chunks], "chunk_signatures": signatures}
    if trailer:
        canonical = trailer[0] + ":" + trailer[1] + "\n"
        sts = "\n".join(
            ["AWS4-HMAC-SHA256-TRAILER", amz_date, scope, previous, hashlib.sha256(canonical.encode()).hexdigest()]
        )
        result["canonical_trailer"] = canonical
        result["trailer_signature"] = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
    return result


def sign_seed(headers, body_value, date):
    creds = AwsCredentialsProvider.new_static(ACCESS_KEY, SECRET_KEY)
    config = AwsSigningConfig(
        algorithm=AwsSigningAlgorithm.V4,
        signature_type=AwsSignatureType.HTTP_REQUEST_HEADERS,
        credentials_provider=creds,
        region=REGION,
        service=SERVICE,
        date=date,
        use_double_uri_encode=False,
        should_normalize_uri_path=False,
        signed_body_value=body_value,
        signed_body_header_type=AwsSignedBodyHeaderType.X_AMZ_CONTENT_SHA_256,
    )
    request = HttpRequest("PUT", "/bucket-a/nested/object%20name.bin", HttpHeaders(headers))
    signed = aws_sign_request(request, config).result(timeout=10)
    return [[k, v] for k, v in signed.headers]


def trailer_value(algorithm, data):
    if algorithm == "crc32":
        return base64.b64encode((zlib.crc32(data) & 0xFFFFFFFF).to_bytes(4, "big")).decode()
    if algorithm == "crc32c":
        return base64.b64encode(checksums.crc32c(data).to_bytes(4, "big")).decode()
    return base64.b64encode(hashlib.new(algorithm, data).digest()).decode()


def encoded_length(size, chunk_size, signed, trailer):
    n = 0
    for c in [min(chunk_size, size - i) for i in range(0, size, chunk_size)]:
        n += len("%x" % c) + (81 if signed else 0) + 2 + c + 2
    n += 1 + (81 if signed else 0) + 2
    if trailer:
        n += len(trailer[0]) + 1 + len(trailer[1]) + 2
        if signed:
            n += len("x-amz-trailer-signature:") + 64 + 2
    return n + 2


def seed_vectors():
    date = datetime.datetime(2024, 2, 29, 23, 59, 59, tzinfo=datetime.timezone.utc)
    amz_date = date.strftime("%Y%m%dT%H%M%SZ")
    scope = "%s/%s/%s/aws4_request" % (amz_date[:8], REGION, SERVICE)
    key = signing_key(SECRET_KEY, amz_date[:8], REGION, SERVICE)
    cases = []
    for name, body_value, size, chunk_size, algorithm in [
        ("signed-chunks", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", 150_001, 65_536, None),
        ("signed-trailer-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER", 20_000, 8_192, "sha256"),
        ("unsigned-trailer-crc32", "STREAMING-UNSIGNED-PAYLOAD-TRAILER", 9_000, 8_192, "crc32"),
    ]:
        salt = len(cases) + 3
        data = payload(size, salt)
        signed = body_value.startswith("STREAMING-AWS4")
        trailer = None
        if algorithm:
            trailer = ("x-amz-checksum-" + algorithm, trailer_value(algorithm, data))
        headers = [
            ("Host", "bucket-a.s3.eu-west-3.amazonaws.com"),
            ("Content-Encoding", "aws-chunked"),
            ("x-amz-decoded-content-length", str(size)),
            ("Content-Length", str(encoded_length(size, chunk_size, signed, trailer))),
            ("x-amz-meta-note", "  streaming   cross-check "),
        ]
        if trailer:
            headers.append(("x-amz-trailer", trailer[0]))
        signed_headers = sign_seed(headers, body_value, date)
        authorization = dict((k.lower(), v) for k, v in signed_headers)["authorization"]
        seed = authorization.rsplit("Signature=", 1)[1]
        case = {
            "name": name,
            "method": "PUT",
            "path": "/bucket-a/nested/object%20name.bin",
            "input_headers": [list(h) for h in headers],
            "payload": {"size": size, "rule": "byte i = (i * 31 + %d) mod 256" % salt, "salt": salt,
                        "sha256": hashlib.sha256(data).hexdigest()},
            "chunk_size": chunk_size,
            "x_amz_content_sha256": body_value,
            "trailer": list(trailer) if trailer else None,
            "awscrt": {"signed_headers": signed_headers, "authorization": authorization, "seed_signature": seed},
        }
        if signed:
            case["reference_python"] = reference_chain(seed, amz_date, scope, key, data, chunk_size, trailer)
        case["encoded_length"] = encoded_length(size, chunk_size, signed, trailer)
        cases.append(case)
    return {
        "generator": "scripts/gen-awscrt-streaming-vectors.py",
        "awscrt_version": awscrt.__version__ if hasattr(awscrt, "__version__") else "0.38.1",
        "access_key_id": ACCESS_KEY,
        "secret_access_key": SECRET_KEY,
        "region": REGION,
        "service": SERVICE,
        "date": amz_date,
        "notes": [
            "awscrt.auth.aws_sign_request signed each seed (use_double_uri_encode=False, should_normalize_uri_path=False,"
            " signed_body_header_type=X_AMZ_CONTENT_SHA_256, signed_body_value=x_amz_content_sha256).",
            "reference_python chunk and trailer signatures come from this script's hashlib/hmac code, because the"
            " awscrt Python binding cannot sign chunks or trailers (no chunk/trailing-header signable is bound).",
        ],
        "cases": cases,
    }


class _Capture(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    captured = []

    def do_PUT(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        _Capture.captured.append((self.requestline, list(self.headers.items()), body))
        self.send_response(200)
        self.send_header("ETag", '"0"')
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def s3_client_vectors():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Capture)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    creds = AwsCredentialsProvider.new_static(ACCESS_KEY, SECRET_KEY)
    loop = crtio.EventLoopGroup(1)
    bootstrap = crtio.ClientBootstrap(loop, crtio.DefaultHostResolver(loop))
    config = AwsSigningConfig(
        algorithm=AwsSigningAlgorithm.V4,
        signature_type=AwsSignatureType.HTTP_REQUEST_HEADERS,
        credentials_provider=creds,
        region=REGION,
        service=SERVICE,
        use_double_uri_encode=False,
        should_normalize_uri_path=False,
        signed_body_header_type=AwsSignedBodyHeaderType.X_AMZ_CONTENT_SHA_256,
    )
    client = s3.S3Client(bootstrap=bootstrap, region=REGION, signing_config=config,
                         tls_mode=s3.S3RequestTlsMode.DISABLED)
    algorithms = {
        "crc32": s3.S3ChecksumAlgorithm.CRC32,
        "crc32c": s3.S3ChecksumAlgorithm.CRC32C,
        "sha1": s3.S3ChecksumAlgorithm.SHA1,
        "sha256": s3.S3ChecksumAlgorithm.SHA256,
    }
    cases = []
    for index, (name, size) in enumerate([("crc32", 20_000), ("crc32c", 20_000), ("sha1", 9_999),
                                          ("sha256", 65_536), ("crc32c", 0)]):
        salt = 40 + index
        data = payload(size, salt)
        path = "/bucket-a/upload-%d.bin" % index
        _Capture.captured.clear()
        request = HttpRequest("PUT", path, HttpHeaders([("Host", "127.0.0.1:%d" % port),
                                                         ("Content-Length", str(size))]), io.BytesIO(data))
        meta = client.make_request(
            type=s3.S3RequestType.PUT_OBJECT, request=request,
            checksum_config=s3.S3ChecksumConfig(algorithm=algorithms[name], location=s3.S3ChecksumLocation.TRAILER))
        meta.finished_future.result(timeout=30)
        assert len(_Capture.captured) == 1, "expected one PUT, got %d" % len(_Capture.captured)
        request_line, headers, body = _Capture.captured[0]
        start = body.index(b"\r\n") + 2 if size else 0
        prefix, rest = body[:start], body[start:]
        assert rest[:size] == data, "payload not found where expected"
        suffix = rest[size:]
        expected_value = trailer_value(name, data)
        assert ("x-amz-checksum-%s:%s\r\n" % (name, expected_value)).encode() in suffix, suffix
        cases.append({
            "name": "s3-client-%s-%d" % (name, size),
            "request_line": request_line,
            "headers": [[k, v] for k, v in headers],
            "payload": {"size": size, "rule": "byte i = (i * 31 + %d) mod 256" % salt, "salt": salt,
                        "sha256": hashlib.sha256(data).hexdigest()},
            "algorithm": name,
            "trailer_value_python": expected_value,
            "body_before_payload": prefix.decode("ascii"),
            "body_after_payload": suffix.decode("ascii"),
            "body_sha256": hashlib.sha256(body).hexdigest(),
        })
    server.shutdown()
    return {
        "generator": "scripts/gen-awscrt-streaming-vectors.py",
        "awscrt_version": awscrt.__version__ if hasattr(awscrt, "__version__") else "0.38.1",
        "access_key_id": ACCESS_KEY,
        "secret_access_key": SECRET_KEY,
        "region": REGION,
        "service": SERVICE,
        "notes": [
            "Captured from awscrt.s3.S3Client (aws-c-s3) PutObject with S3ChecksumConfig(location=TRAILER),"
            " TLS disabled, sent to an HTTP server on 127.0.0.1. aws-c-s3 picks the signing time itself,"
            " so each case records the X-Amz-Date it sent.",
            "aws-c-s3 sends the whole part as one chunk and writes the chunk size in UPPERCASE hex (e.g. 4E20);"
            " the S3 documentation and most SDKs use lowercase. Both are valid chunked-encoding syntax.",
            "trailer_value_python is the same checksum computed by zlib.crc32, awscrt.checksums.crc32c and hashlib.",
        ],
        "cases": cases,
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "TestVectors", "awscrt-streaming"))
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for filename, builder in [("seed-signatures.json", seed_vectors), ("s3-client-unsigned-trailer.json", s3_client_vectors)]:
        with open(os.path.join(args.out, filename), "w") as f:
            json.dump(builder(), f, indent=2)
            f.write("\n")
        print("wrote", os.path.join(args.out, filename))


if __name__ == "__main__":
    main()
