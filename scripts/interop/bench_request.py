"""The signed GET that scripts/interop/perf.sh and scripts/interop/instructions.sh send to the
gateway: botocore under S3's rules, a presigned URL valid for an hour (MODE presigned) or header
auth signed now (MODE header), for /bench-bucket/object.txt on 127.0.0.1:PORT.

As a script: bench_request.py KEY_JSON PORT MODE prints the target, then one `Name: value` line per
field to send (KEY_JSON as `sigv4 keys create --format json` prints it).
"""
import json
import sys

from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


def signed_request(key, port, mode):
    """(target, {field name: value}) of the signed GET, for `key` (a dict with access_key_id and
    secret_access_key)."""
    credentials = Credentials(key["access_key_id"], key["secret_access_key"])
    req = AWSRequest(method="GET", url=f"http://127.0.0.1:{port}/bench-bucket/object.txt")
    if mode == "presigned":
        S3SigV4QueryAuth(credentials, "s3", "us-east-1", expires=3600).add_auth(req)
    else:
        S3SigV4Auth(credentials, "s3", "us-east-1").add_auth(req)
    names = ("Authorization", "X-Amz-Date", "X-Amz-Content-SHA256")
    fields = {name: req.headers[name] for name in names if name in req.headers}
    return req.url.split(f":{port}", 1)[1], fields


if __name__ == "__main__":
    target, fields = signed_request(json.loads(sys.argv[1]), sys.argv[2], sys.argv[3])
    print(target)
    for name, value in fields.items():
        print(f"{name}: {value}")
