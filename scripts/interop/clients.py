#!/usr/bin/env python3
"""Interop checks: real AWS clients through `sigv4 serve`, with moto's S3 server as the upstream.

Run by scripts/interop/run.sh, which starts moto, the gateway (forwarding and echo mode) and a TLS
terminator, creates the keys in the project's key store, and writes the JSON config this script reads.

Every positive check sends bytes through the gateway and compares them with what moto stored
(read from moto directly, bypassing the gateway). Every negative check asserts the AWS error code
the client reports and that moto's request recording did not grow, so nothing reached upstream.

Prints one line per check and ends with 'N passed, N failed'; exits 1 when any check failed.
"""
import base64
import datetime
import hashlib
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
import zlib

import boto3
import botocore
import botocore.auth
import botocore.loaders
import botocore.session
import requests
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

CFG = json.load(open(sys.argv[1]))
REGION = CFG["region"]
BUCKET = "interop-bucket"
WORK = CFG["workdir"]
RESULTS = []

# awscli v1 presigns S3 URLs with Signature Version 2 unless told otherwise.
AWS_CONFIG = os.path.join(WORK, "aws-config")
with open(AWS_CONFIG, "w") as f:
    f.write("[default]\ns3 =\n    signature_version = s3v4\n")


def check(name):
    def wrap(fn):
        def run():
            t0 = time.monotonic()
            try:
                fn()
                RESULTS.append((name, True, ""))
                print(f"PASS {name} ({time.monotonic() - t0:.1f}s)", flush=True)
            except Exception as e:  # noqa: BLE001 - report every failure and continue
                RESULTS.append((name, False, str(e)))
                print(f"FAIL {name}: {e}", flush=True)
                if os.environ.get("INTEROP_VERBOSE"):
                    traceback.print_exc()

        run.__name__ = fn.__name__
        CHECKS.append(run)
        return run

    return wrap


CHECKS = []


def expect(cond, message):
    if not cond:
        raise AssertionError(message)


def key(name):
    return CFG["keys"][name]


def clean_env(k, extra=None):
    env = {
        "PATH": os.environ["PATH"],
        "HOME": WORK,
        "AWS_ACCESS_KEY_ID": k["access_key_id"],
        "AWS_SECRET_ACCESS_KEY": k["secret_access_key"],
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": AWS_CONFIG,
        "AWS_SHARED_CREDENTIALS_FILE": os.path.join(WORK, "no-aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_MAX_ATTEMPTS": "1",
        "AWS_RETRY_MODE": "standard",
    }
    for var in ("PYENV_ROOT", "PYENV_VERSION", "LANG"):
        if var in os.environ:
            env[var] = os.environ[var]
    env.update(extra or {})
    return env


def aws(args, k="good", tls=False, check_ok=True, python_prelude=None, endpoint=None, env=None):
    """Runs the aws CLI; returns (returncode, stdout, stderr). `endpoint` replaces the gateway's URL;
    `env` adds environment variables."""
    endpoint = endpoint or (CFG["gateway_tls"] if tls else CFG["gateway"])
    cli = ["aws", "--endpoint-url", endpoint]
    if tls:
        cli += ["--ca-bundle", CFG["ca_bundle"]]
    if python_prelude:
        code = python_prelude + "\nimport sys\nfrom awscli.clidriver import main\nsys.exit(main())\n"
        cmd = [sys.executable, "-c", code] + cli[1:] + args
    else:
        cmd = cli + args
    p = subprocess.run(cmd, env=clean_env(key(k), env), capture_output=True, text=True, timeout=120)
    if check_ok and p.returncode != 0:
        raise AssertionError(f"aws {' '.join(args)} exited {p.returncode}: {p.stderr.strip()[-400:]}")
    return p.returncode, p.stdout, p.stderr


def client(k="good", tls=False, endpoint=None, s3=None, **config):
    """A boto3 client on the gateway (S3 unless `service=`), path style, one attempt; `s3` adds S3
    settings (`payload_signing_enabled`, ...) and `config` other botocore Config options."""
    creds = key(k)
    return boto3.client(
        config.pop("service", "s3"),
        region_name=REGION,
        endpoint_url=endpoint or (CFG["gateway_tls"] if tls else CFG["gateway"]),
        aws_access_key_id=creds["access_key_id"],
        aws_secret_access_key=creds["secret_access_key"],
        verify=CFG["ca_bundle"] if tls else None,
        config=Config(retries={"max_attempts": 1, "mode": "standard"}, s3={"addressing_style": "path", **(s3 or {})},
                      **config),
    )


def curl_sigv4(k="good"):
    """curl's arguments that sign with key `k` for S3 in REGION."""
    creds = key(k)
    return ["--aws-sigv4", f"aws:amz:{REGION}:s3", "--user", f"{creds['access_key_id']}:{creds['secret_access_key']}"]


UPSTREAM = boto3.client(
    "s3",
    region_name=REGION,
    endpoint_url=CFG["upstream"],
    aws_access_key_id="upstream",
    aws_secret_access_key="upstream",
    # The suite compares bytes itself; moto's own CRC32C (used when it stores an object whose checksum
    # came in a trailer) is wrong without the optional crc32c package, so botocore must not re-check it.
    config=Config(s3={"addressing_style": "path"}, response_checksum_validation="when_required"),
)


def stored(object_key):
    return UPSTREAM.get_object(Bucket=BUCKET, Key=object_key)["Body"].read()


def upstream_requests():
    """Every request moto recorded. moto's recorder writes a request's JSON and its newline in two
    writes, so two requests recorded at once (a multi-megabyte part still being written while the
    next request arrives) can share a line: each line is read as one or more JSON objects."""
    path = CFG["recording"]
    if not os.path.exists(path):
        return []
    decoder = json.JSONDecoder()
    out = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            while line:
                obj, end = decoder.raw_decode(line)
                out.append(obj)
                line = line[end:].lstrip()
    return out


def upstream_put_headers(before):
    """The headers (names lower-case) of the last PUT moto recorded after its first `before` requests;
    None when no PUT reached it."""
    puts = [r for r in upstream_requests()[before:] if r["method"] == "PUT"]
    return {k.lower(): v for k, v in puts[-1]["headers"].items()} if puts else None


class NothingUpstream:
    """Asserts that no request reached moto inside the block."""

    def __enter__(self):
        self.before = len(upstream_requests())

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            after = len(upstream_requests())
            expect(after == self.before, f"{after - self.before} request(s) reached the upstream")


def payload(name, size):
    path = os.path.join(WORK, name)
    data = os.urandom(size)
    with open(path, "wb") as f:
        f.write(data)
    return path, data


def expect_download_matches(fetch, object_key, message):
    """`fetch(out)` downloads `object_key` through the gateway into the file `out`; its bytes must be
    what moto stored."""
    out = os.path.join(WORK, "down-" + object_key.replace("/", "-"))
    fetch(out)
    with open(out, "rb") as f:
        expect(f.read() == stored(object_key), message)


def expect_client_error(fn, code):
    try:
        fn()
    except ClientError as e:
        got = e.response.get("Error", {}).get("Code")
        expect(got == code, f"expected {code}, got {got}: {e}")
        return
    raise AssertionError(f"expected {code}, the request succeeded")


# ---------------------------------------------------------------- positive: awscli


@check("aws s3 mb (create the bucket through the gateway)")
def _mb():
    aws(["s3", "mb", f"s3://{BUCKET}"])
    names = [b["Name"] for b in UPSTREAM.list_buckets()["Buckets"]]
    expect(BUCKET in names, f"bucket not created upstream: {names}")


def aws_cp_upload(name, size, tls=False):
    """aws s3 cp uploads `size` random bytes as `name`; moto must store them byte for byte."""
    path, data = payload(name, size)
    aws(["s3", "cp", path, f"s3://{BUCKET}/{name}"], tls=tls)
    expect(stored(name) == data, "stored bytes differ from the bytes sent")


@check("aws s3 cp upload, small, http (signed payload)")
def _cp_small_http():
    aws_cp_upload("small-http.bin", 100_000)


@check("aws s3 cp upload, small, https (aws-chunked with trailing CRC32 checksum)")
def _cp_small_tls():
    before = len(upstream_requests())
    aws_cp_upload("small-tls.bin", 300_000, tls=True)
    headers = upstream_put_headers(before)
    expect(headers is not None, "no PUT reached the upstream")
    client_key = key("good")["access_key_id"]
    expect(client_key not in headers.get("authorization", ""), "the client's Authorization was forwarded upstream")
    expect("Credential=upstream/" in headers.get("authorization", ""), "the gateway did not sign for the upstream")
    expect(headers.get("x-sigv4-principal") == CFG["principal"], f"identity header missing: {headers}")
    expect("aws-chunked" not in headers.get("content-encoding", ""), "aws-chunked was not decoded")


@check("aws s3 cp upload, multipart 9 MiB, https (trailing checksums per part)")
def _cp_multipart_tls():
    aws_cp_upload("multipart.bin", 9 * 1024 * 1024, tls=True)


@check("aws s3 cp upload, multipart 9 MiB, http")
def _cp_multipart_http():
    aws_cp_upload("multipart-http.bin", 9 * 1024 * 1024)


@check("aws s3 cp download, small and multipart")
def _cp_down():
    for name in ("small-tls.bin", "multipart.bin"):
        expect_download_matches(lambda out: aws(["s3", "cp", f"s3://{BUCKET}/{name}", out], tls=True), name,
                                f"downloaded {name} differs from upstream")


@check("aws s3 ls")
def _ls():
    _, out, _ = aws(["s3", "ls", f"s3://{BUCKET}/"])
    expect("small-http.bin" in out and "multipart.bin" in out, f"listing incomplete: {out}")


@check("aws s3 presign, then curl the URL")
def _presign():
    _, url, _ = aws(["s3", "presign", f"s3://{BUCKET}/small-http.bin", "--expires-in", "300"])

    def fetch(out):
        p = subprocess.run(["curl", "-sS", "-o", out, "-w", "%{http_code}", url.strip()], capture_output=True, text=True)
        expect(p.stdout == "200", f"curl got HTTP {p.stdout}")

    expect_download_matches(fetch, "small-http.bin", "presigned download differs")


# ---------------------------------------------------------------- positive: S3 operations beyond cp


# Object keys that each exercise a different part of the URI encoding: a space, non-ASCII (composed
# and decomposed), `+` (a space in a form, not in a path), a literal `%`, the characters S3 rules
# leave unencoded (`~`) or encode (`!*'()`), sub-delimiters, `?` and `#` (which must stay in the
# path), `//`, and `.`/`..` segments (kept as sent: S3 does not normalize).
AWKWARD_KEYS = [
    "awkward/with space.bin",
    "awkward/caf\u00e9-\u00f1-\u65e5\u672c.bin",
    "awkward/cafe\u0301-decomposed.bin",
    "awkward/plus+sign.bin",
    "awkward/percent%25-and-%.bin",
    "awkward/tilde~bang!star*quote'(paren).bin",
    "awkward/eq=amp&semi;colon:at@dollar$comma,.bin",
    "awkward/question?hash#.bin",
    "awkward/double//slash.bin",
    "awkward/dot/./and/../segments.bin",
]


@check("object keys with awkward characters: aws s3 cp up and down, boto3 get_object, list and presigned GET")
def _s3_awkward_keys():
    s3 = client()
    presigner = client(signature_version="s3v4")  # boto3 presigns S3 URLs with version 2 by default
    for i, name in enumerate(AWKWARD_KEYS):
        path, data = payload(f"awkward-{i}.bin", 1_000 + i)
        aws(["s3", "cp", path, f"s3://{BUCKET}/{name}"])
        expect(stored(name) == data, f"{name!r}: stored bytes differ (aws s3 cp)")
        out = os.path.join(WORK, f"awkward-down-{i}.bin")
        aws(["s3", "cp", f"s3://{BUCKET}/{name}", out])
        with open(out, "rb") as f:
            expect(f.read() == data, f"{name!r}: aws s3 cp download differs")
        # With a Range: a GET of the same object with the same headers in the same second as awscli's
        # would be the same signed request, which the replay guard refuses (RequestReplayed).
        got = s3.get_object(Bucket=BUCKET, Key=name, Range=f"bytes=0-{len(data) - 1}")["Body"].read()
        expect(got == data, f"{name!r}: boto3 get_object differs")
        url = presigner.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": name}, ExpiresIn=300)
        # --path-as-is: curl would otherwise remove the dot segments the signature covers.
        p = subprocess.run(["curl", "-sS", "--path-as-is", "-o", out, "-w", "%{http_code}", url],
                           capture_output=True, text=True)
        expect(p.stdout == "200", f"{name!r}: presigned GET got HTTP {p.stdout}")
        with open(out, "rb") as f:
            expect(f.read() == data, f"{name!r}: presigned GET differs")
    listed = set()
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix="awkward/", PaginationConfig={"PageSize": 3}):
        listed.update(o["Key"] for o in page.get("Contents", []))
    expect(listed == set(AWKWARD_KEYS), f"listing through the gateway differs: {sorted(set(AWKWARD_KEYS) ^ listed)}")


@check("boto3 list_objects_v2 with a non-ASCII prefix, a delimiter and StartAfter, one key per page (continuation tokens)")
def _s3_list_paging():
    s3 = client()
    names = [f"list/\u00e9t\u00e9 {i:02d}/x" for i in range(5)] + [f"list/\u00e9t\u00e9-flat-{i}" for i in range(3)]
    for name in names:
        UPSTREAM.put_object(Bucket=BUCKET, Key=name, Body=b"x")
    kwargs = {"Bucket": BUCKET, "Prefix": "list/\u00e9t\u00e9", "Delimiter": "/", "MaxKeys": 1,
              "StartAfter": "list/\u00e9t\u00e9 00/"}
    keys, prefixes, pages = [], [], 0
    while True:
        resp = s3.list_objects_v2(**kwargs)
        pages += 1
        keys += [o["Key"] for o in resp.get("Contents", [])]
        prefixes += [p["Prefix"] for p in resp.get("CommonPrefixes", [])]
        if not resp.get("IsTruncated"):
            break
        kwargs = {k: v for k, v in kwargs.items() if k != "StartAfter"}
        kwargs["ContinuationToken"] = resp["NextContinuationToken"]
    expect(keys == [f"list/\u00e9t\u00e9-flat-{i}" for i in range(3)], f"keys: {keys}")
    expect(prefixes == [f"list/\u00e9t\u00e9 {i:02d}/" for i in range(1, 5)], f"prefixes: {prefixes}")
    expect(pages >= 7, f"only {pages} pages: MaxKeys=1 was not honoured")


@check("aws s3 sync a directory tree, then boto3 delete_objects (POST ?delete with a checksum of its XML body)")
def _s3_sync_delete():
    tree = os.path.join(WORK, "sync-tree")
    files = {"a.txt": os.urandom(10), "sub/b.bin": os.urandom(70_000), "sub/deeper/c d.bin": os.urandom(5)}
    # Files dated a minute back: awscli's sync uploads a file whose mtime is later than the object's
    # LastModified, and moto lists LastModified in whole seconds, so a file written in the same
    # second as its upload looked newer than its copy and the second sync uploaded it again (5 of 7
    # runs; not the gateway's doing).
    past = time.time() - 60
    for rel, data in files.items():
        os.makedirs(os.path.dirname(os.path.join(tree, rel)), exist_ok=True)
        with open(os.path.join(tree, rel), "wb") as f:
            f.write(data)
        os.utime(os.path.join(tree, rel), (past, past))
    aws(["s3", "sync", tree, f"s3://{BUCKET}/sync/"])
    for rel, data in files.items():
        expect(stored("sync/" + rel) == data, f"sync/{rel}: stored bytes differ")
    # A second sync finds nothing to do: it lists through the gateway and compares. Its listing is
    # the same signed request as the first sync's when both fall in one second (the replay guard
    # refuses it: Docs/Verifier.md, "Replay semantics"), so it starts in a later second.
    time.sleep(1.1)
    _, out, _ = aws(["s3", "sync", tree, f"s3://{BUCKET}/sync/"])
    expect(out.strip() == "", f"second sync uploaded again: {out}")
    s3 = client()
    resp = s3.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": "sync/" + rel} for rel in files]})
    expect(len(resp.get("Deleted", [])) == len(files) and not resp.get("Errors"), f"delete_objects: {resp}")
    left = UPSTREAM.list_objects_v2(Bucket=BUCKET, Prefix="sync/").get("KeyCount")
    expect(left == 0, f"{left} objects left upstream after delete_objects")


@check("server-side copy: aws s3 cp s3:// to s3:// (x-amz-copy-source signed by awscli, re-signed upstream)")
def _s3_copy():
    path, data = payload("copy-src.bin", 40_000)
    aws(["s3", "cp", path, f"s3://{BUCKET}/copy/src \u00e9.bin"])
    aws(["s3", "cp", f"s3://{BUCKET}/copy/src \u00e9.bin", f"s3://{BUCKET}/copy/dst \u00e9.bin"])
    expect(stored("copy/dst \u00e9.bin") == data, "copied bytes differ")


@check("boto3 ranged get_object and head_object (Range signed; 206 and headers streamed back)")
def _s3_range_head():
    s3 = client()
    data = os.urandom(50_000)
    UPSTREAM.put_object(Bucket=BUCKET, Key="range.bin", Body=data)
    resp = s3.get_object(Bucket=BUCKET, Key="range.bin", Range="bytes=1000-1999")
    expect(resp["ResponseMetadata"]["HTTPStatusCode"] == 206, f"status {resp['ResponseMetadata']['HTTPStatusCode']}")
    expect(resp["Body"].read() == data[1000:2000], "range bytes differ")
    expect(resp["ContentRange"] == "bytes 1000-1999/50000", f"Content-Range {resp.get('ContentRange')}")
    head = s3.head_object(Bucket=BUCKET, Key="range.bin")
    expect(head["ContentLength"] == 50_000, f"head ContentLength {head['ContentLength']}")


@check("boto3 presigned PUT URL (generate_presigned_url put_object), uploaded with curl -T")
def _s3_presigned_put():
    # boto3 presigns S3 URLs with Signature Version 2 unless told otherwise.
    s3 = client(signature_version="s3v4")
    path, data = payload("presigned-put.bin", 25_000)
    url = s3.generate_presigned_url("put_object", Params={"Bucket": BUCKET, "Key": "presigned put.bin"}, ExpiresIn=300)
    p = subprocess.run(["curl", "-sS", "-T", path, "-o", "/dev/null", "-w", "%{http_code}", url],
                       capture_output=True, text=True)
    expect(p.stdout == "200", f"presigned PUT got HTTP {p.stdout}: {p.stderr}")
    expect(stored("presigned put.bin") == data, "presigned PUT stored bytes differ")


@check("a Signature Version 2 presigned URL (boto3's default for S3) and a version 2 Authorization header are refused with S3's InvalidRequest, nothing upstream")
def _s3_signature_version_2():
    s3 = client()
    url = s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "range.bin"}, ExpiresIn=300)
    expect("AWSAccessKeyId=" in url and "X-Amz-Signature" not in url, f"not a version 2 URL: {url}")
    with NothingUpstream():
        r = requests.get(url, timeout=30)
    expect(r.status_code == 400 and "<Code>InvalidRequest</Code>" in r.text
           and "Please use AWS4-HMAC-SHA256" in r.text, f"HTTP {r.status_code}: {r.text}")
    v2 = client(signature_version="s3")
    with NothingUpstream():
        expect_client_error(lambda: v2.get_object(Bucket=BUCKET, Key="range.bin"), "InvalidRequest")


@check("boto3 retry within the second of a failed attempt (upstream 503): the identical re-signed retry is refused as SlowDown, not RequestReplayed, and the next attempt succeeds")
def _s3_retry_same_second():
    import http.server
    import threading

    seen = []

    class Flaky(http.server.BaseHTTPRequestHandler):
        def do_PUT(self):
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            seen.append(self.path)
            if len(seen) == 1:
                body = b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"
                self.send_response(503)
            else:
                body = b""
                self.send_response(200)
                self.send_header("ETag", '"0"')
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    upstream = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Flaky)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    gateway = subprocess.Popen(
        [CFG["sigv4"], "serve", "--listen", f"127.0.0.1:{port}", "--upstream", f"http://127.0.0.1:{upstream.server_port}",
         "--region", REGION, "--service", "s3"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # botocore signs each attempt again, but the signature's date has one-second resolution and the
    # attempt counter (amz-sdk-request) is not signed: the first two attempts read the same second here,
    # as a retry within the second does, and the third the next second.
    try:
        import botocore.crt.auth as crt_auth  # with awscrt installed botocore may sign through it
    except ImportError:
        crt_auth = None
    real = botocore.auth.get_current_datetime
    start = real().replace(microsecond=0)
    calls = []

    def clock(*a, **k):
        calls.append(1)
        return start if len(calls) <= 2 else start + datetime.timedelta(seconds=1)

    botocore.auth.get_current_datetime = clock
    if crt_auth:
        crt_auth.get_current_datetime = clock
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        creds = key("good")
        s3 = boto3.client(
            "s3", region_name=REGION, endpoint_url=f"http://127.0.0.1:{port}",
            aws_access_key_id=creds["access_key_id"], aws_secret_access_key=creds["secret_access_key"],
            config=Config(retries={"max_attempts": 3, "mode": "standard"}, s3={"addressing_style": "path"}))
        answers = []
        s3.meta.events.register("needs-retry.s3.PutObject",
                                lambda response, **_: answers.append(response[1]["Error"]["Code"] if response and response[1].get("Error") else None))
        resp = s3.put_object(Bucket=BUCKET, Key="retried.bin", Body=b"retried body")
        expect(resp["ResponseMetadata"]["HTTPStatusCode"] == 200, f"put_object: {resp}")
        expect(resp["ResponseMetadata"]["RetryAttempts"] == 2, f"attempts: {resp['ResponseMetadata']}")
        expect(answers[:2] == ["SlowDown", "SlowDown"], f"answers botocore saw: {answers}")
        expect(len(seen) == 2, f"the upstream saw {len(seen)} requests (the refused replay must not reach it)")
    finally:
        botocore.auth.get_current_datetime = real
        if crt_auth:
            crt_auth.get_current_datetime = real
        gateway.terminate()
        gateway.wait(timeout=10)
        upstream.shutdown()


# ---------------------------------------------------------------- positive: boto3


@check("boto3 put_object ChecksumAlgorithm=CRC32C, SHA256, CRC64NVME and SHA512 (https, trailer) and http; get_object with ChecksumMode=ENABLED validates what moto stored (the trailer's value, forwarded as its header)")
def _boto_checksums():
    for tls in (True, False):
        s3 = client(tls=tls)
        # CRC64NVME needs awscrt (scripts/requirements-test.txt); botocore sends each as an
        # x-amz-trailer checksum that the gateway verifies before the upload completes.
        for algo in ("CRC32C", "SHA256", "CRC64NVME", "SHA512"):
            data = os.urandom(70_000)
            name = f"boto-{algo}-{'tls' if tls else 'http'}.bin"
            resp = s3.put_object(Bucket=BUCKET, Key=name, Body=data, ChecksumAlgorithm=algo)
            expect(resp["ResponseMetadata"]["HTTPStatusCode"] == 200, f"{name}: {resp}")
            expect(stored(name) == data, f"{name}: stored bytes differ")
            # botocore checks the object's stored checksum against the bytes (FlexibleChecksumError
            # otherwise): before 2026-12-06 the gateway dropped a trailer's value, and moto stored a
            # CRC32C of its own that did not match.
            got = s3.get_object(Bucket=BUCKET, Key=name, ChecksumMode="ENABLED")
            expect(got["Body"].read() == data, f"{name}: read back differs")
            expect(got.get(f"Checksum{algo}") == resp.get(f"Checksum{algo}"), f"{name}: {got.get(f'Checksum{algo}')!r}")


@check("boto3 put_object ChecksumAlgorithm=XXHASH64, XXHASH3, XXHASH128 (https, trailer; awscrt computes them)")
def _boto_xxhash():
    s3 = client(tls=True)
    seen = {}
    s3.meta.events.register(
        "before-send.s3.PutObject", lambda request, **_: seen.update((k.lower(), v) for k, v in request.headers.items()))
    for algo in ("XXHASH64", "XXHASH3", "XXHASH128"):
        data = os.urandom(70_000)
        name = f"boto-{algo}.bin"
        resp = s3.put_object(Bucket=BUCKET, Key=name, Body=data, ChecksumAlgorithm=algo)
        expect(resp["ResponseMetadata"]["HTTPStatusCode"] == 200, f"{name}: {resp}")
        trailer = seen.get("x-amz-trailer")
        trailer = trailer.decode() if isinstance(trailer, bytes) else trailer
        expect(trailer == f"x-amz-checksum-{algo.lower()}", f"{name}: botocore's x-amz-trailer was {trailer!r}")
        expect(stored(name) == data, f"{name}: stored bytes differ")


@check("boto3 put_object with a precomputed ChecksumCRC32 and ContentMD5 (x-amz-checksum-crc32 and Content-MD5 headers, checked by the gateway)")
def _boto_declared_checksum():
    s3 = client(tls=False)
    data = os.urandom(30_000)
    crc = base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
    seen = {}
    s3.meta.events.register(
        "before-send.s3.PutObject", lambda request, **_: seen.update(request.headers.items()))
    md5 = base64.b64encode(hashlib.md5(data).digest()).decode()
    resp = s3.put_object(Bucket=BUCKET, Key="declared-crc32.bin", Body=data, ChecksumCRC32=crc, ContentMD5=md5)
    expect(resp["ResponseMetadata"]["HTTPStatusCode"] == 200, f"{resp}")
    sent = seen.get("x-amz-checksum-crc32")
    sent = sent.decode() if isinstance(sent, bytes) else sent
    expect(sent == crc, f"botocore sent {sent!r} in x-amz-checksum-crc32, not {crc!r}")
    expect(stored("declared-crc32.bin") == data, "stored bytes differ")


@check("boto3 with SigV4a (signature_version s3v4a, signed by awscrt) put_object and get_object, https and http")
def _boto_sigv4a():
    for tls in (True, False):
        s3 = client(tls=tls, signature_version="s3v4a")
        data = os.urandom(5_000)
        name = f"boto-sigv4a-{'tls' if tls else 'http'}.bin"
        resp = s3.put_object(Bucket=BUCKET, Key=name, Body=data)
        expect(resp["ResponseMetadata"]["HTTPStatusCode"] == 200, f"{name}: {resp}")
        expect(stored(name) == data, f"{name}: stored bytes differ")
        got = s3.get_object(Bucket=BUCKET, Key=name)["Body"].read()
        expect(got == data, f"{name}: bytes read back through the gateway differ")


@check("sigv4 sign --sigv4a --chunked (ECDSA chunk signatures, signed trailer) sent by curl: stored byte for byte")
def _sigv4a_chunked():
    path, data = payload("sigv4a-chunked.bin", 150_000)
    k = key("good")
    url = f"{CFG['gateway']}/{BUCKET}/sigv4a-chunked.bin"
    encoded = os.path.join(WORK, "sigv4a-chunked.body")
    p = subprocess.run(
        [CFG["sigv4"], "sign", url, "-X", "PUT", "--data-file", path, "--service", "s3", "--region", REGION,
         "--sigv4a", "--region-set", REGION, "--chunked", "--chunk-size", "65536", "--trailer", "crc32c",
         "--output", encoded, "--format", "curl", "--access-key-id", k["access_key_id"],
         "--secret-access-key", k["secret_access_key"]],
        capture_output=True, text=True, timeout=60)
    expect(p.returncode == 0, f"sigv4 sign failed: {p.stderr[-300:]}")
    args = shlex.split(p.stdout.strip())
    expect("x-amz-content-sha256: streaming-aws4-ecdsa-p256-sha256-payload-trailer" in [a.lower() for a in args],
           f"not a SigV4a chunked upload: {p.stdout[:300]}")
    r = subprocess.run(args[:1] + ["-sS", "-o", "/dev/null", "-w", "%{http_code}"] + args[1:],
                       capture_output=True, text=True, timeout=60)
    expect(r.stdout == "200", f"curl PUT got HTTP {r.stdout} {r.stderr[-300:]}")
    expect(stored("sigv4a-chunked.bin") == data, "stored bytes differ")


@check("boto3 JSON-protocol service (dynamodb ListTables) through the echo gateway")
def _boto_json():
    ddb = client(service="dynamodb", endpoint=CFG["echo"])
    resp = ddb.list_tables()
    expect(resp["ResponseMetadata"]["HTTPStatusCode"] == 200, f"unexpected {resp}")
    body = json.loads(
        requests.get(CFG["echo"] + "/", headers=signed_headers("GET", CFG["echo"] + "/", "dynamodb")).text
    )
    expect(body.get("principal") == CFG["principal"], f"echo identity wrong: {body}")


@check("awscli with a wrong secret against non-S3 services through the echo gateway shows SignatureDoesNotMatch for each protocol: JSON 1.0 (dynamodb), query (sts, iam, ses), EC2 (ec2), REST-JSON (lambda, sesv2)")
def _cli_error_protocols():
    # botocore reads the code from `__type` (JSON 1.0/1.1) and from <ErrorResponse><Error> (query, EC2):
    # until 2026-12-06 awscli showed these refusals as "(403)" and "(Unknown)". SES v1 (query) and v2
    # (REST-JSON) both sign as `ses`; until 2026-12-06 sesv2 got query XML and showed "(403)".
    for args in (["dynamodb", "list-tables"], ["sts", "get-caller-identity"], ["iam", "list-users"],
                 ["ec2", "describe-regions"], ["lambda", "list-functions"], ["ses", "get-send-quota"],
                 ["sesv2", "get-account"]):
        code, _, err = aws(args, k="wrong_secret", check_ok=False, endpoint=CFG["echo"])
        expect(code != 0 and "(SignatureDoesNotMatch)" in err, f"aws {' '.join(args)}: {err.strip()[-300:]}")


@check("boto3 CloudWatch over Smithy RPC v2 CBOR (its model's protocol set to CBOR, which the SDKs that choose CBOR send) with a wrong secret through the echo gateway: botocore's CBOR parser reads SignatureDoesNotMatch, the message and the query code")
def _boto_cbor_error():
    # botocore 1.43 offers CloudWatch as CBOR, JSON 1.0 and query, and chooses JSON; the Java and Go SDKs
    # can choose CBOR. Until 2026-12-06 such requests got query XML, which a CBOR parser cannot read.
    model = botocore.loaders.Loader().load_service_model("cloudwatch", "service-2")
    model["metadata"]["protocols"] = ["smithy-rpc-v2-cbor"]
    model["metadata"]["protocol"] = "smithy-rpc-v2-cbor"
    models = os.path.join(WORK, "cbor-models")
    os.makedirs(os.path.join(models, "cloudwatch", model["metadata"]["apiVersion"]), exist_ok=True)
    with open(os.path.join(models, "cloudwatch", model["metadata"]["apiVersion"], "service-2.json"), "w") as f:
        json.dump(model, f)
    session = botocore.session.get_session()
    session.get_component("data_loader").search_paths.insert(0, models)
    creds = key("wrong_secret")
    cw = boto3.Session(botocore_session=session).client(
        "cloudwatch", region_name=REGION, endpoint_url=CFG["echo"], aws_access_key_id=creds["access_key_id"],
        aws_secret_access_key=creds["secret_access_key"],
        config=Config(retries={"max_attempts": 1, "mode": "standard"}))
    expect(cw.meta.service_model.protocol == "smithy-rpc-v2-cbor", f"protocol {cw.meta.service_model.protocol}")
    error, headers = refusal(cw.list_metrics)
    expect(error.get("Code") == "SignatureDoesNotMatch" and error.get("QueryErrorCode") == "SignatureDoesNotMatch"
           and "signature we calculated" in error.get("Message", "")
           and headers.get("content-type") == "application/cbor", f"{error} {headers}")


def refusal(call):
    """The error botocore parsed and the response's headers, of `call`, which must be refused."""
    try:
        call()
    except ClientError as e:
        return e.response["Error"], e.response["ResponseMetadata"].get("HTTPHeaders", {})
    expect(False, "a wrong secret was accepted")


@check("boto3 SQS (JSON with the query-compatible trait: it sends x-amzn-query-mode: true) with a wrong secret through the echo gateway: botocore reads SignatureDoesNotMatch, the query code and the fault type Sender from x-amzn-query-error")
def _boto_query_mode_error():
    # Until 2026-12-06 the JSON answer carried no x-amzn-query-error, so botocore left Error.Type and
    # QueryErrorCode unset, which SQS's modeled-error lookup (error_code_override) reads.
    sqs = client("wrong_secret", endpoint=CFG["echo"], service="sqs")
    expect(sqs.meta.service_model.is_query_compatible, "botocore's SQS model is not query-compatible")
    error, headers = refusal(sqs.list_queues)
    expect(error.get("Code") == "SignatureDoesNotMatch" and error.get("Type") == "Sender"
           and error.get("QueryErrorCode") == "SignatureDoesNotMatch"
           and headers.get("x-amzn-query-error") == "SignatureDoesNotMatch;Sender"
           and headers.get("content-type") == "application/json", f"{error} {headers}")


def signed_headers(method, url, service, body=b"", k="good", s3=False):
    creds = Credentials(key(k)["access_key_id"], key(k)["secret_access_key"])
    req = AWSRequest(method=method, url=url, data=body)
    if s3:
        S3SigV4Auth(creds, service, REGION).add_auth(req)
    else:
        botocore.auth.SigV4Auth(creds, service, REGION).add_auth(req)
    return dict(req.prepare().headers)


# ---------------------------------------------------------------- positive: curl, awscurl, Swift adapters


@check("curl --aws-sigv4 PUT and GET")
def _curl():
    path, data = payload("curl.bin", 50_000)
    sig = curl_sigv4()
    url = f"{CFG['gateway']}/{BUCKET}/curl.bin"
    sha = hashlib.sha256(data).hexdigest()
    p = subprocess.run(
        ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-X", "PUT", "-H", f"x-amz-content-sha256: {sha}",
         "-H", "Content-Type: application/octet-stream",
         "--data-binary", f"@{path}"] + sig + [url],
        capture_output=True, text=True)
    expect(p.stdout == "200", f"curl PUT got HTTP {p.stdout} {p.stderr}")
    expect(stored("curl.bin") == data, "stored bytes differ")
    out = os.path.join(WORK, "curl-down.bin")
    p = subprocess.run(
        ["curl", "-sS", "-o", out, "-w", "%{http_code}", "-H",
         "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"] + sig + [url],
        capture_output=True, text=True)
    expect(p.stdout == "200", f"curl GET got HTTP {p.stdout} {p.stderr}")
    with open(out, "rb") as f:
        expect(f.read() == data, "curl download differs")


@check("curl --aws-sigv4 subresources and unsorted queries (?acl, ?versions&prefix=, ?prefix=&list-type=2)")
def _curl_queries():
    # curl 7.x signs the query exactly as written: `?acl` as `acl`, not `acl=`, and in its order
    # (the verifier's "as sent" readings; Docs/Verifier.md).
    sig = curl_sigv4() + ["-H", "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"]
    for query, needle in (("acl", b"AccessControlPolicy"), ("versions&prefix=curl", b"ListVersionsResult"),
                          ("prefix=curl&list-type=2", b"ListBucketResult")):
        out = os.path.join(WORK, "curl-query.xml")
        p = subprocess.run(["curl", "-sS", "-o", out, "-w", "%{http_code}"] + sig + [f"{CFG['gateway']}/{BUCKET}?{query}"],
                           capture_output=True, text=True)
        with open(out, "rb") as f:
            body = f.read()
        expect(p.stdout == "200", f"curl GET ?{query} got HTTP {p.stdout}: {body[:300]!r} {p.stderr}")
        expect(needle in body, f"curl GET ?{query}: no {needle!r} in the answer: {body[:300]!r}")


def random_through_echo(client, seed):
    """200 random requests signed by `client` (curl_diff.py --client) sent to the echo gateway with the
    good key (curl_diff.py --gateway); the run must pass."""
    k = key("good")
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "differential", "curl_diff.py")
    p = subprocess.run(
        [sys.executable, script, "--client", client, "--gateway", CFG["echo"], "--access-key-id", k["access_key_id"],
         "--secret-access-key", k["secret_access_key"], "--cases", "200", "--seed", str(seed)],
        capture_output=True, text=True, timeout=600)
    expect(p.returncode == 0,
           f"curl_diff --client {client} --gateway failed: {p.stdout[-600:]} {p.stderr[-1500:]}")


@check("200 random requests signed by curl --aws-sigv4 through the echo gateway (scripts/differential/curl_diff.py --gateway)")
def _curl_random():
    random_through_echo("curl", 7)


@check("awscurl PUT and GET")
def _awscurl():
    data = os.urandom(40_000).hex()  # awscurl sends text bodies
    k = key("good")
    url = f"{CFG['gateway']}/{BUCKET}/awscurl.txt"
    base = ["awscurl", "--service", "s3", "--region", REGION, "--access_key", k["access_key_id"],
            "--secret_key", k["secret_access_key"]]
    p = subprocess.run(base + ["-X", "PUT", "-d", data, url], capture_output=True, text=True,
                       env=clean_env(k), timeout=60)
    expect(p.returncode == 0, f"awscurl PUT failed: {p.stdout[-300:]} {p.stderr[-300:]}")
    expect(stored("awscurl.txt") == data.encode(), "stored bytes differ")
    p = subprocess.run(base + [url], capture_output=True, text=True, env=clean_env(k), timeout=60)
    expect(p.returncode == 0 and p.stdout.strip() == data, f"awscurl GET failed: {p.stderr[-300:]}")


class Aws4:
    """Node's aws4 (Debian's node-aws4) through scripts/interop/aws4_client.js: each request signed
    by aws4 and sent by node's http module; one node process per check."""

    def __enter__(self):
        here = os.path.dirname(os.path.abspath(__file__))
        self.proc = subprocess.Popen(["node", os.path.join(here, "aws4_client.js")], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, bufsize=1)
        return self

    def send(self, base, method, path, k="good", service="s3", body=b"", headers=None, sign_query=False):
        kk = key(k)
        spec = dict(port=int(base.rsplit(":", 1)[1]), method=method, path=path, headers=headers or {},
                    body_b64=base64.b64encode(body).decode(), service=service, region=REGION,
                    access_key_id=kk["access_key_id"], secret_access_key=kk["secret_access_key"],
                    sign_query=sign_query)
        self.proc.stdin.write(json.dumps(spec) + "\n")
        answer = json.loads(self.proc.stdout.readline())
        expect("error" not in answer, f"aws4 did not send {method} {path}: {answer.get('error')}")
        answer["body"] = base64.b64decode(answer.pop("body_b64"))
        return answer

    def __exit__(self, *exc):
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


@check("node aws4 PUT, GET and presigned GET")
def _aws4():
    data = os.urandom(60_000)
    path = f"/{BUCKET}/aws4.bin"
    with Aws4() as c:
        # aws4 signs x-amz-content-sha256 (the body's SHA-256) for S3 by itself.
        r = c.send(CFG["gateway"], "PUT", path, body=data, headers={"Content-Type": "application/octet-stream"})
        expect(r["status"] == 200, f"aws4 PUT got HTTP {r['status']}: {r['body'][:300]!r}")
        expect(stored("aws4.bin") == data, "stored bytes differ")
        r = c.send(CFG["gateway"], "GET", path)
        expect(r["status"] == 200 and r["body"] == data, f"aws4 GET got HTTP {r['status']}: {r['body'][:300]!r}")
        # An escape in the key: aws4 signs the key decoded and encoded again (reading 7, Docs/Verifier.md).
        # (A Content-Type of its own: aws4 adds a form-urlencoded one, and moto then stores no body.)
        r = c.send(CFG["gateway"], "PUT", f"/{BUCKET}/aws4%7edir/a%3db.bin", body=b"escaped",
                   headers={"Content-Type": "application/octet-stream"})
        expect(r["status"] == 200, f"aws4 PUT of an escaped key got HTTP {r['status']}: {r['body'][:300]!r}")
        got = stored("aws4~dir/a=b.bin")
        expect(got == b"escaped", f"the escaped key's stored bytes differ: {got[:100]!r}")
        r = c.send(CFG["gateway"], "GET", path + "?response-content-type=application%2Foctet-stream", sign_query=True)
        expect(r["status"] == 200 and r["body"] == data,
               f"aws4 presigned GET got HTTP {r['status']}: {r['body'][:300]!r} (sent {r['path']})")


@check("node aws4 JSON call to a non-S3 service through the echo gateway")
def _aws4_json():
    body = json.dumps({"TableName": "t", "Key": {"id": {"S": "a b+c"}}}).encode()
    with Aws4() as c:
        r = c.send(CFG["echo"], "POST", "/", service="dynamodb", body=body,
                   headers={"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "DynamoDB_20120810.GetItem"})
    expect(r["status"] == 200, f"aws4 POST got HTTP {r['status']}: {r['body'][:300]!r}")
    identity = json.loads(r["body"])
    expect(identity.get("principal") == CFG["principal"], f"echo answered {identity}")


@check("node aws4 wrong secret: SignatureDoesNotMatch, nothing upstream")
def _aws4_wrong_secret():
    with Aws4() as c, NothingUpstream():
        r = c.send(CFG["gateway"], "GET", f"/{BUCKET}/aws4.bin", k="wrong_secret")
    expect(r["status"] == 403 and b"<Code>SignatureDoesNotMatch</Code>" in r["body"],
           f"aws4 with a wrong secret got HTTP {r['status']}: {r['body'][:300]!r}")


@check("200 random requests signed by node aws4 through the echo gateway (scripts/differential/curl_diff.py --client aws4 --gateway)")
def _aws4_random():
    random_through_echo("aws4", 8)


@check("the project's AsyncHTTPClient and URLRequest adapters PUT and GET")
def _swift_adapters():
    k = key("good")
    for adapter in ("async-http-client", "urlsession"):
        path, data = payload(f"swift-{adapter}.bin", 120_000)
        url = f"{CFG['gateway']}/{BUCKET}/swift-{adapter}.bin"
        out = os.path.join(WORK, f"swift-{adapter}-down.bin")
        for args in (["--method", "PUT", "--body-file", path], ["--method", "GET", "--output", out]):
            p = subprocess.run(
                [CFG["sigv4"], "interop-request", "--adapter", adapter, "--region", REGION, "--service", "s3",
                 "--access-key-id", k["access_key_id"], "--secret-access-key", k["secret_access_key"], url] + args,
                capture_output=True, text=True, timeout=60)
            expect(p.returncode == 0, f"{adapter} {args[1]} failed: {p.stdout[-300:]} {p.stderr[-300:]}")
        expect(stored(f"swift-{adapter}.bin") == data, f"{adapter}: stored bytes differ")
        with open(out, "rb") as f:
            expect(f.read() == data, f"{adapter}: downloaded bytes differ")


# ---------------------------------------------------------------- Ruby's aws-sdk-s3 and the Go SDK v2's S3 client


HERE = os.path.dirname(os.path.abspath(__file__))


def sdk_env(k, tls):
    """The environment scripts/interop/ruby_s3_client.rb and go_s3_client read."""
    extra = {"S3_ENDPOINT": CFG["gateway_tls"] if tls else CFG["gateway"], "S3_BUCKET": BUCKET, "AWS_REGION": REGION}
    if tls:
        extra["S3_CA_BUNDLE"] = CFG["ca_bundle"]
    return clean_env(key(k), extra)


def sdk_run(cmd, k="good", tls=False, refused=False):
    """Runs one client operation; returns its JSON answer (requests as sent, result). With refused=True
    the service must have refused it (exit status 3, the error's code in the answer)."""
    p = subprocess.run(cmd, env=sdk_env(k, tls), capture_output=True, text=True, timeout=300)
    try:
        answer = json.loads(p.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise AssertionError(f"{os.path.basename(cmd[1] if cmd[0] == 'ruby' else cmd[0])} {cmd[-3:]} exited "
                             f"{p.returncode} without an answer: {p.stdout[-300:]} {p.stderr[-600:]}")
    want = 3 if refused else 0
    expect(p.returncode == want, f"{cmd[1:] if cmd[0] == 'ruby' else cmd[1:]} exited {p.returncode}: "
                                 f"{ {k: v for k, v in answer.items() if k != 'requests'} } {p.stderr[-400:]}")
    return answer


def ruby(*args, **kw):
    return sdk_run(["ruby", os.path.join(HERE, "ruby_s3_client.rb")] + list(args), **kw)


_GO_BINARY = []


def go_client():
    """Builds scripts/interop/go_s3_client offline in GOPATH mode against Debian's
    golang-github-aws-aws-sdk-go-v2-dev (as scripts/differential/hypothesis_diff.py builds its Go peer),
    once per run; the binary and the build cache stay under $TMPDIR so later runs only relink. A missing
    toolchain or SDK fails the check."""
    if _GO_BINARY:
        return _GO_BINARY[0]
    sdk = "/usr/share/gocode/src/github.com/aws/aws-sdk-go-v2/service/s3"
    expect(shutil.which("go") is not None, "no `go` on PATH: install golang-go (scripts/apt-packages.txt)")
    expect(os.path.isdir(sdk), f"no {sdk}: install golang-github-aws-aws-sdk-go-v2-dev (scripts/apt-packages.txt)")
    base = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"sigv4-interop-go-s3-client-{os.getuid()}")
    out = base + "/go_s3_client"
    env = dict(os.environ, GO111MODULE="off", GOPATH="/usr/share/gocode", GOFLAGS="", GOCACHE=base + "/cache")
    p = subprocess.run(["go", "build", "-o", out, "."], cwd=os.path.join(HERE, "go_s3_client"), env=env,
                       capture_output=True, text=True, timeout=1200)
    expect(p.returncode == 0, f"go build of scripts/interop/go_s3_client failed: {p.stderr[-1500:]}")
    _GO_BINARY.append(out)
    return out


def go(*args, **kw):
    return sdk_run([go_client()] + list(args), **kw)


def sent_request(answer, method, operation=None):
    """The last request of `method` (and the Ruby SDK's `operation`) the client recorded, headers lower-case."""
    reqs = [r for r in answer["requests"] if r["method"] == method and (operation is None or r.get("operation") == operation)]
    expect(reqs, f"the client recorded no {method} {operation or ''}: {answer['requests']}")
    return reqs[-1]["headers"]


def payload_mode(headers):
    """How a request's payload was signed, for the check's message: the x-amz-content-sha256 value
    (a digest shown as 'sha256'), aws-chunked or not, and the checksum headers or trailer."""
    sha = headers.get("x-amz-content-sha256", "")
    mode = "sha256" if len(sha) == 64 else sha
    extra = [f"{k}={v}" for k, v in sorted(headers.items())
             if k.startswith("x-amz-checksum-") or k in ("x-amz-trailer", "content-encoding", "content-md5",
                                                         "x-amz-decoded-content-length", "transfer-encoding")]
    return " ".join([mode] + extra)


def sdk_put(sdk, name, size, tls=False, algorithm=None):
    """`sdk` (ruby or go) PUTs `size` random bytes as `name`, with the flexible checksum `algorithm`
    when given; moto must store them byte for byte. Returns the PUT's headers as the client sent them."""
    path, data = payload(name.replace("/", "-"), size)
    answer = sdk("put", name, path, *([algorithm] if algorithm else []), tls=tls)
    expect(stored(name) == data, f"{name}: stored bytes differ from the bytes sent")
    return sent_request(answer, "PUT")


def checksum_of(algorithm, data):
    if algorithm == "CRC32":
        return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
    return base64.b64encode(hashlib.new(algorithm.lower(), data).digest()).decode()


def expect_checksum_sent(name, sent, algorithm, data):
    """The client sent the flexible checksum as a header with the right value, or announced it as a trailer."""
    header = f"x-amz-checksum-{algorithm.lower()}"
    if sent.get("x-amz-trailer") == header:
        expect(sent.get("content-encoding", "").startswith("aws-chunked"), f"{name}: a trailer without aws-chunked")
        return
    expect(sent.get(header) == checksum_of(algorithm, data),
           f"{name}: no (or a wrong) {header} sent: {payload_mode(sent)}")


def sdk_checksum_puts(sdk, prefix, https_check=None):
    """`sdk` PUTs 200,000 random bytes as `{prefix}/checksum-{algorithm}-{http|tls}.bin` with
    checksum algorithm CRC32 and SHA256, over http and https (sdk_put), each with the checksum sent as
    expect_checksum_sent wants. `https_check(name, sent, before)` checks an https PUT further
    (`before`: how many requests moto had recorded before it)."""
    for tls in (False, True):
        for algo in ("CRC32", "SHA256"):
            name = f"{prefix}/checksum-{algo}-{'tls' if tls else 'http'}.bin"
            before = len(upstream_requests()) if tls and https_check else None
            sent = sdk_put(sdk, name, 200_000, tls=tls, algorithm=algo)
            expect_checksum_sent(name, sent, algo, stored(name))
            if tls and https_check:
                https_check(name, sent, before)
            print(f"     {name}: {payload_mode(sent)}")


def sdk_multipart_uploads(sdk, command, prefix, is_part, part_name):
    """`sdk`'s multipart `command` uploads 12 MiB in 5 MiB parts as `{prefix}/multipart-{http|tls}.bin`,
    over http plain and over https with checksum algorithm CRC32: three of the requests the client
    recorded are parts (`is_part`, named `part_name` in the message) and moto stores the bytes sent."""
    for tls, algo in ((False, None), (True, "CRC32")):
        name = f"{prefix}/multipart-{'tls' if tls else 'http'}.bin"
        path, data = payload(name.replace("/", "-"), 12 * 1024 * 1024)
        answer = sdk(command, name, path, str(5 * 1024 * 1024), *([algo] if algo else []), tls=tls)
        parts = [r for r in answer["requests"] if is_part(r)]
        expect(len(parts) == 3, f"{name}: {len(parts)} {part_name} requests, not 3: "
                                f"{[r.get('url', r.get('path')) for r in answer['requests']]}")
        expect(stored(name) == data, f"{name}: stored bytes differ from the bytes sent")
        print(f"     {name}: parts {payload_mode(parts[0]['headers'])}")


def sdk_presigned_get(sdk, prefix, tls_modes):
    """`sdk` presigns a GET of `{prefix}/presigned é.bin` (30,000 random bytes put into moto directly)
    and fetches the URL itself, once for each of `tls_modes`: the bytes fetched are the bytes put."""
    _, data = payload(f"{prefix}-presign.bin", 30_000)
    name = f"{prefix}/presigned é.bin"
    UPSTREAM.put_object(Bucket=BUCKET, Key=name, Body=data)
    out = os.path.join(WORK, f"{prefix}-presign-down.bin")
    for tls in tls_modes:
        answer = sdk("presign-get", name, out, tls=tls)
        expect("X-Amz-Signature=" in answer["url"], f"not a SigV4 presigned URL: {answer['url']}")
        with open(out, "rb") as f:
            expect(f.read() == data, "presigned GET bytes differ")


def sdk_refused_put_get(sdk, prefix):
    """`sdk` with the wrong secret PUTs `{prefix}/wrong-secret.bin` and GETs `{prefix}/small-http.bin`:
    both refused (sdk_run's refused=True), nothing upstream. Returns the two answers."""
    path, _ = payload(f"{prefix}-wrong.bin", 1_000)
    with NothingUpstream():
        return [sdk("put", f"{prefix}/wrong-secret.bin", path, k="wrong_secret", refused=True),
                sdk("get", f"{prefix}/small-http.bin", os.path.join(WORK, f"{prefix}-wrong-down.bin"), k="wrong_secret",
                    refused=True)]


@check("Ruby aws-sdk-s3 put_object (signed payload, http and https) and get_object")
def _sdk_ruby_put_get():
    for tls in (False, True):
        name = f"ruby/small-{'tls' if tls else 'http'}.bin"
        sent = sdk_put(ruby, name, 100_000, tls=tls)
        with open(os.path.join(WORK, name.replace("/", "-")), "rb") as f:
            expect(sent.get("x-amz-content-sha256") == hashlib.sha256(f.read()).hexdigest(),
                   f"{name}: the Ruby SDK did not sign the payload's SHA-256: {payload_mode(sent)}")
        print(f"     {name}: {payload_mode(sent)}")
    expect_download_matches(lambda out: ruby("get", "ruby/small-http.bin", out), "ruby/small-http.bin",
                            "get_object bytes differ from upstream")


@check("Ruby aws-sdk-s3 put_object checksum_algorithm CRC32 and SHA256, http and https (x-amz-checksum-* header, signed payload)")
def _sdk_ruby_checksums():
    sdk_checksum_puts(ruby, "ruby")


# One upload_part at a time (thread_count 1): moto's request recording, which NothingUpstream reads,
# interleaves the lines of concurrent multi-megabyte requests.
@check("Ruby aws-sdk-s3 upload_file multipart (12 MiB, 5 MiB parts): http plain, https with checksum_algorithm CRC32")
def _sdk_ruby_multipart():
    sdk_multipart_uploads(ruby, "upload-file", "ruby", lambda r: r.get("operation") == "upload_part", "upload_part")


@check("Ruby aws-sdk-s3 list_objects_v2, two keys per page")
def _sdk_ruby_list():
    names = [f"ruby-list/k {i} \u00e9.bin" for i in range(5)]
    for name in names:
        UPSTREAM.put_object(Bucket=BUCKET, Key=name, Body=b"r")
    answer = ruby("list", "ruby-list/", "2")
    expect(answer["keys"] == sorted(names), f"listing differs: {answer['keys']}")
    expect(answer["pages"] == 3, f"{answer['pages']} pages, not 3")


@check("Ruby aws-sdk-s3 Presigner GET URL fetched with Net::HTTP")
def _sdk_ruby_presign():
    sdk_presigned_get(ruby, "ruby", (False,))


@check("Ruby aws-sdk-s3 wrong secret: Aws::S3::Errors::SignatureDoesNotMatch, nothing upstream")
def _sdk_ruby_wrong_secret():
    for a in sdk_refused_put_get(ruby, "ruby"):
        expect(a.get("error_class") == "Aws::S3::Errors::SignatureDoesNotMatch" and a.get("status") == 403,
               f"refused as {a.get('error_class')} HTTP {a.get('status')}")


@check("Go SDK v2 s3 PutObject (http: signed payload; https: UNSIGNED-PAYLOAD) and GetObject")
def _sdk_go_put_get():
    sent = sdk_put(go, "go/small-http.bin", 100_000)
    expect(len(sent.get("x-amz-content-sha256", "")) == 64, f"the Go SDK did not sign the payload over http: {payload_mode(sent)}")
    sent = sdk_put(go, "go/small-tls.bin", 100_000, tls=True)
    expect(sent.get("x-amz-content-sha256") == "UNSIGNED-PAYLOAD", f"go/small-tls.bin: {payload_mode(sent)}")
    expect_download_matches(lambda out: go("get", "go/small-http.bin", out), "go/small-http.bin",
                            "GetObject bytes differ from upstream")


@check("Go SDK v2 s3 PutObject ChecksumAlgorithm CRC32 and SHA256, http (header) and https (trailer)")
def _sdk_go_checksums():
    def https_check(name, sent, before):
        expect(sent.get("x-amz-content-sha256") == "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
               f"{name}: expected the SDK's aws-chunked trailer over https: {payload_mode(sent)}")
        up = upstream_put_headers(before)
        expect(up is not None and "aws-chunked" not in up.get("content-encoding", ""),
               f"{name}: aws-chunked was not decoded before the upstream: {up}")

    sdk_checksum_puts(go, "go", https_check)


@check("Go SDK v2 feature/s3/manager Uploader multipart (12 MiB, 5 MiB parts): http plain, https with ChecksumAlgorithm CRC32 (aws-chunked trailer per part)")
def _sdk_go_multipart():
    sdk_multipart_uploads(go, "upload", "go", lambda r: r["method"] == "PUT" and "partNumber=" in r["url"], "UploadPart")


@check("Go SDK v2 s3 presigned GetObject (s3.NewPresignClient) fetched by net/http, http and https")
def _sdk_go_presign():
    sdk_presigned_get(go, "go", (False, True))


@check("Go SDK v2 s3 wrong secret: SignatureDoesNotMatch (smithy APIError), nothing upstream")
def _sdk_go_wrong_secret():
    go_client()  # built before the block: building sends nothing, but keep it outside the count
    for a in sdk_refused_put_get(go, "go"):
        expect(a.get("error_code") == "SignatureDoesNotMatch", f"refused as {a.get('error_code')}: {a.get('error')}")


# ---------------------------------------------------------------- negative cases


def aws_refused(k, code, args=None, prelude=None):
    with NothingUpstream():
        rc, _, err = aws(args or ["s3", "ls", f"s3://{BUCKET}/"], k=k, check_ok=False, python_prelude=prelude)
    expect(rc != 0, "the request was accepted")
    expect(f"({code})" in err, f"awscli did not show {code}: {err.strip()[-300:]}")


@check("wrong secret: SignatureDoesNotMatch, shown by awscli, nothing upstream")
def _neg_secret():
    aws_refused("wrong_secret", "SignatureDoesNotMatch")


@check("revoked key: InvalidAccessKeyId, shown by awscli, nothing upstream")
def _neg_revoked():
    aws_refused("revoked", "InvalidAccessKeyId")


@check("retiring key past its time: refused, shown by awscli, nothing upstream")
def _neg_retiring():
    aws_refused("retiring", CFG["codes"]["retiring"])


@check("key outside its scope (service sqs only): AccessDenied, shown by awscli, nothing upstream")
def _neg_scope():
    aws_refused("scoped", "AccessDenied")


@check("skewed client clock (-20 min): RequestTimeTooSkewed, shown by awscli, nothing upstream")
def _neg_skew():
    # Both signers botocore may use (the Python one and awscrt's) read the clock here.
    prelude = (
        "import datetime, botocore.auth, botocore.crt.auth\n"
        "_real = botocore.auth.get_current_datetime\n"
        "def _skewed(*a, **k):\n"
        "    return _real(*a, **k) - datetime.timedelta(minutes=20)\n"
        "botocore.auth.get_current_datetime = _skewed\n"
        "botocore.crt.auth.get_current_datetime = _skewed\n"
    )
    aws_refused("good", "RequestTimeTooSkewed", prelude=prelude)


@check("replayed request (captured and resent): RequestReplayed, one copy upstream")
def _neg_replay():
    url = f"{CFG['gateway']}/{BUCKET}?list-type=2"
    headers = signed_headers("GET", url, "s3", s3=True)
    first = requests.get(url, headers=headers)
    expect(first.status_code == 200, f"first send got {first.status_code}: {first.text[:200]}")
    with NothingUpstream():
        second = requests.get(url, headers=headers)
    expect(second.status_code == 403, f"replay got {second.status_code}")
    expect("<Code>RequestReplayed</Code>" in second.text, f"replay body: {second.text[:300]}")


@check("presigned URL past expiry: AccessDenied via curl, nothing upstream")
def _neg_expired_presign():
    _, url, _ = aws(["s3", "presign", f"s3://{BUCKET}/small-http.bin", "--expires-in", "1"])
    time.sleep(2.2)
    with NothingUpstream():
        p = subprocess.run(["curl", "-sS", url.strip()], capture_output=True, text=True)
    expect("<Code>AccessDenied</Code>" in p.stdout, f"expired presign answered: {p.stdout[:300]}")


def expect_tampered_put_refused(tls, at, object_key, size, code):
    """boto3 PUTs `size` random bytes as `object_key` with the byte at `at(body)` of the body it
    signed flipped before sending: refused with `code` (expect_client_error), nothing upstream."""
    s3 = client(tls=tls)

    def tamper(request, **_):
        body = request.body
        data = body.read() if hasattr(body, "read") else bytes(body)
        i = at(data)
        request.body = data[:i] + bytes([data[i] ^ 1]) + data[i + 1:]

    s3.meta.events.register("before-send.s3.PutObject", tamper)
    with NothingUpstream():
        expect_client_error(lambda: s3.put_object(Bucket=BUCKET, Key=object_key, Body=os.urandom(size)), code)


@check("tampered body after signing: XAmzContentSHA256Mismatch via boto3, nothing upstream")
def _neg_tampered():
    expect_tampered_put_refused(False, lambda body: 0, "tampered.bin", 5000, "XAmzContentSHA256Mismatch")
    try:
        UPSTREAM.head_object(Bucket=BUCKET, Key="tampered.bin")
        raise AssertionError("the tampered object exists upstream")
    except ClientError:
        pass


@check("wrong declared checksum (ChecksumCRC32 or ContentMD5 of other bytes): BadDigest via boto3, nothing upstream")
def _neg_declared_checksum():
    s3 = client(tls=False)
    data = os.urandom(30_000)
    wrong = base64.b64encode(zlib.crc32(b"other bytes").to_bytes(4, "big")).decode()
    wrong_md5 = base64.b64encode(hashlib.md5(b"other bytes").digest()).decode()
    with NothingUpstream():
        expect_client_error(
            lambda: s3.put_object(Bucket=BUCKET, Key="wrong-crc32.bin", Body=data, ChecksumCRC32=wrong), "BadDigest")
        expect_client_error(
            lambda: s3.put_object(Bucket=BUCKET, Key="wrong-md5.bin", Body=data, ContentMD5=wrong_md5), "BadDigest")


@check("tampered aws-chunked body (https, trailer): refused, nothing upstream")
def _neg_tampered_chunked():
    # One payload byte in the middle of the first chunk; the framing stays intact.
    expect_tampered_put_refused(True, lambda body: body.index(b"\r\n") + 2 + 100, "tampered-chunked.bin", 20_000,
                                CFG["codes"]["tampered_chunked"])


import edge_cases  # noqa: E402,F401 - scripts/interop/edge_cases.py: more checks, registered here


if __name__ == "__main__":
    only = os.environ.get("INTEROP_ONLY")
    for run in CHECKS:
        # The first check creates the bucket the others use: it always runs.
        if only and only not in run.__name__ and run is not CHECKS[0]:
            continue
        run()
    passed = sum(1 for r in RESULTS if r[1])
    failed = len(RESULTS) - passed
    print(f"interop: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)
