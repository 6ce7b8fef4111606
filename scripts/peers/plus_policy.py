#!/usr/bin/env python3
"""Records how real peers sign a literal '+' (and other query edge cases) in a query string.

For each request target below it asks botocore (header auth and presign), awscrt (aws-c-auth;
header and query auth) and curl --aws-sigv4 (the request curl actually sends, captured by a
local server on 127.0.0.1) for their canonical query line or signature, and writes
TestVectors/peer-plus-policy/cases.json. The Swift tests check that the verifier accepts every
one of these signed requests.

Usage: python3 scripts/peers/plus_policy.py [--out FILE]
"""
import argparse
import datetime
import hashlib
import hmac
import http.server
import json
import subprocess
import sys
import threading

import botocore.auth
import botocore.awsrequest
import botocore.credentials

AKID = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
REGION = "us-east-1"
SERVICE = "service"
WHEN = datetime.datetime(2015, 8, 30, 12, 36, 0, tzinfo=datetime.timezone.utc)
AMZDATE = "20150830T123600Z"
HOST = "example.amazonaws.com"

TARGETS = [
    "/?a=b+c",
    "/?a+b=c",
    "/?q=1+2%2B3",
    "/?x=%2b&y=%7e",
    "/path+with+plus?k=v",
]


def frozen(remove_tzinfo=True):
    return WHEN.replace(tzinfo=None) if remove_tzinfo else WHEN


def botocore_sign(target, presign):
    botocore.auth.get_current_datetime = frozen
    creds = botocore.credentials.Credentials(AKID, SECRET)
    req = botocore.awsrequest.AWSRequest(method="GET", url=f"https://{HOST}{target}", headers={})
    if presign:
        auth = botocore.auth.SigV4QueryAuth(creds, SERVICE, REGION, expires=3600)
    else:
        auth = botocore.auth.SigV4Auth(creds, SERVICE, REGION)
    auth.add_auth(req)
    prepared = req.prepare()
    url = prepared.url
    wire_target = url[len(f"https://{HOST}"):]
    # The HTTP client adds Host on the wire; botocore signed it from the URL.
    headers = [["Host", HOST]] + [[k, v] for k, v in prepared.headers.items()]
    return {"peer": "botocore", "mode": "query" if presign else "header", "input_target": target,
            "wire_target": wire_target, "headers": headers}


def awscrt_sign(target, presign):
    from awscrt import auth, http
    creds = auth.AwsCredentialsProvider.new_static(AKID, SECRET)
    config = auth.AwsSigningConfig(
        algorithm=auth.AwsSigningAlgorithm.V4,
        signature_type=(auth.AwsSignatureType.HTTP_REQUEST_QUERY_PARAMS if presign
                        else auth.AwsSignatureType.HTTP_REQUEST_HEADERS),
        credentials_provider=creds, region=REGION, service=SERVICE, date=WHEN,
        expiration_in_seconds=3600 if presign else None)
    req = http.HttpRequest("GET", target, http.HttpHeaders([("Host", HOST)]))
    signed = auth.aws_sign_request(req, config).result()
    return {"peer": "awscrt", "mode": "query" if presign else "header", "input_target": target,
            "wire_target": signed.path, "headers": [[k, v] for k, v in signed.headers]}


class Recorder(http.server.BaseHTTPRequestHandler):
    seen = []

    def do_GET(self):
        Recorder.seen.append({"target": self.path, "headers": [[k, v] for k, v in self.headers.items()]})
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def curl_sign(target):
    server = http.server.HTTPServer(("127.0.0.1", 0), Recorder)
    port = server.server_address[1]
    t = threading.Thread(target=server.handle_request, daemon=True)
    t.start()
    Recorder.seen.clear()
    # curl signs with the current time; the verifier test uses the recorded X-Amz-Date.
    subprocess.run(["curl", "-s", "-o", "/dev/null", "--aws-sigv4", f"aws:amz:{REGION}:{SERVICE}",
                    "--user", f"{AKID}:{SECRET}", "-H", f"Host: {HOST}",
                    f"http://127.0.0.1:{port}{target}"], check=True, timeout=20)
    t.join(timeout=10)
    server.server_close()
    rec = Recorder.seen[0]
    headers = [h for h in rec["headers"] if h[0].lower() not in ("user-agent", "accept")]
    return {"peer": "curl", "mode": "header", "input_target": target, "wire_target": rec["target"],
            "headers": headers,
            "curl_version": subprocess.run(["curl", "--version"], capture_output=True, text=True).stdout.split()[1]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="TestVectors/peer-plus-policy/cases.json")
    args = ap.parse_args()
    cases = []
    for target in TARGETS:
        cases.append(botocore_sign(target, presign=False))
        cases.append(botocore_sign(target, presign=True))
        cases.append(awscrt_sign(target, presign=False))
        cases.append(awscrt_sign(target, presign=True))
        cases.append(curl_sign(target))
    doc = {"access_key_id": AKID, "secret_access_key": SECRET, "region": REGION, "service": SERVICE,
           "host": HOST, "cases": cases}
    import os
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(doc, f, indent=1, ensure_ascii=False)
        f.write("\n")
    for c in cases:
        auth = next((v for k, v in c["headers"] if k.lower() == "authorization"), "")
        print(f'{c["peer"]:8} {c["mode"]:6} {c["input_target"]:22} -> {c["wire_target"][:90]} {auth[-20:]}')


if __name__ == "__main__":
    sys.exit(main())
