"""Interop edge cases: S3 operations and request shapes real clients send that the main checks in
clients.py do not cover (zero-byte objects and folder keys, `aws s3 mv`, `rm --recursive`, sync
down, s3api head/range/metadata/tagging, copies with awkward sources, part copies, presigned URLs
with response overrides and signed headers, the SDK's payload and checksum settings, conditional
requests, long and odd keys, versioning, curl's query forms).

clients.py imports this module once its own checks are defined (a one-line hook); the checks here
use its helpers and register in its list, so they run after the others, honour INTEROP_ONLY and
count in its totals.
"""
import hashlib
import json
import os
import subprocess
import time

import requests

import __main__ as C  # scripts/interop/clients.py, run as a script

check, expect, curl_sigv4 = C.check, C.expect, C.curl_sigv4
BUCKET, WORK = C.BUCKET, C.WORK


def curl(args):
    """Runs curl; returns (HTTP status as text, body, stderr)."""
    p = subprocess.run(["curl", "-sS", "-w", "\n%{http_code}"] + args, capture_output=True, text=True, timeout=60)
    body, _, code = p.stdout.rpartition("\n")
    return code, body, p.stderr


def status_of(fn):
    """The HTTP status of the ClientError `fn` raises (it must raise one)."""
    try:
        fn()
    except C.ClientError as e:
        return e.response["ResponseMetadata"]["HTTPStatusCode"], e.response.get("Error", {}).get("Code")
    raise AssertionError("the request succeeded")


# ---------------------------------------------------------------- empty bodies, raw targets


@check("zero-byte objects: aws s3 cp of an empty file and boto3 put_object of a 'folder/' key, http and https "
       "(over https an aws-chunked body decoding to nothing, framed Transfer-Encoding: chunked)")
def _edge_zero_byte():
    # botocore sends its aws-chunked uploads over https with Transfer-Encoding: chunked. Until 2026-12-02
    # the gateway read such a body twice when it decoded to nothing: a debug build stopped on Hummingbird's
    # "Can only create iterator from request body once" (every connection lost), a release build
    # forwarded an empty body from a second, empty iteration.
    path = os.path.join(WORK, "empty.bin")
    open(path, "wb").close()
    for tls in (False, True):
        scheme = "https" if tls else "http"
        C.aws(["s3", "cp", path, f"s3://{BUCKET}/edge/empty-{scheme}.bin"], tls=tls)
        expect(C.stored(f"edge/empty-{scheme}.bin") == b"", f"aws s3 cp empty file over {scheme}: stored bytes")
        s3 = C.client(tls=tls)
        s3.put_object(Bucket=BUCKET, Key=f"edge/folder-{scheme}/", Body=b"")
        expect(C.stored(f"edge/folder-{scheme}/") == b"", f"folder key over {scheme}: stored bytes")
        data = s3.get_object(Bucket=BUCKET, Key=f"edge/empty-{scheme}.bin")["Body"].read()
        expect(data == b"", f"get_object of the empty object over {scheme}: {data[:50]!r}")


@check("curl --aws-sigv4 PUT of keys typed with raw bytes RFC 3986 does not allow ('|', '{}', '^', '[]', '`', '\"', '<>', '\\') "
       "and a '%' that starts no escape: verified, forwarded percent-encoded and re-signed for moto")
def _edge_raw_target_bytes():
    # curl sends the URL as typed (-g keeps [] and {}). Until 2026-12-02 the gateway answered these 502
    # BadGateway when it signs again for the upstream, as here: the signing adapter refused the URL that
    # AsyncHTTPClient would have percent-encoded.
    names = ["edge/raw|pipe{brace}^caret.bin", "edge/raw[bracket]`tick`.bin", 'edge/raw"quote"<lt>\\bs.bin',
             "edge/raw%zz-percent.bin", "edge/raw%7Cescaped.bin"]
    for i, name in enumerate(names):
        data = f"raw target {i}".encode()
        code, body, err = curl(curl_sigv4() + [
            "-g", "--path-as-is", "-X", "PUT", "-H", f"x-amz-content-sha256: {hashlib.sha256(data).hexdigest()}",
            "-H", "Content-Type: application/octet-stream", "--data-binary", data.decode(),
            f"{C.CFG['gateway']}/{BUCKET}/{name}"])
        expect(code == "200", f"{name!r}: HTTP {code} {body[:300]} {err}")
        stored_as = name.replace("%7C", "|")
        expect(C.stored(stored_as) == data, f"{name!r}: stored bytes differ")


# ---------------------------------------------------------------- awscli: mv, rm --recursive, sync down, s3api


@check("aws s3 mv (up, s3 to s3, down), aws s3 rm --recursive, aws s3 sync s3 to local, awkward keys")
def _edge_mv_rm_sync_down():
    path, data = C.payload("mv.bin", 3_000)
    C.aws(["s3", "mv", path, f"s3://{BUCKET}/edge/mv 1.bin"])
    expect(not os.path.exists(path), "aws s3 mv left the local file")
    C.aws(["s3", "mv", f"s3://{BUCKET}/edge/mv 1.bin", f"s3://{BUCKET}/edge/mv+2 \u00e9.bin"])
    expect(C.stored("edge/mv+2 \u00e9.bin") == data, "aws s3 mv s3 to s3: stored bytes differ")
    out = os.path.join(WORK, "mv-down.bin")
    C.aws(["s3", "mv", f"s3://{BUCKET}/edge/mv+2 \u00e9.bin", out])
    with open(out, "rb") as f:
        expect(f.read() == data, "aws s3 mv down: bytes differ")
    left = C.UPSTREAM.list_objects_v2(Bucket=BUCKET, Prefix="edge/mv").get("KeyCount")
    expect(left == 0, f"{left} objects left upstream after the moves")
    tree = {"edge/rm/a b": b"1", "edge/rm/c+d": b"22", "edge/rm/sub/\u00e9 \u00fc": b"333", "edge/rm/x%y&z=": b"4444"}
    for name, body in tree.items():
        C.UPSTREAM.put_object(Bucket=BUCKET, Key=name, Body=body)
    local = os.path.join(WORK, "sync-down")
    C.aws(["s3", "sync", f"s3://{BUCKET}/edge/rm/", local])
    for name, body in tree.items():
        with open(os.path.join(local, name[len("edge/rm/"):]), "rb") as f:
            expect(f.read() == body, f"aws s3 sync down: {name!r} differs")
    # aws s3 rm lists the prefix the sync just listed: in the same second that listing is the same
    # signed request, which the replay guard refuses (RequestReplayed; Docs/Gateway.md, "Identical
    # requests"; a fresh-clone CI run met it), so it starts in a later second.
    time.sleep(1.1)
    C.aws(["s3", "rm", "--recursive", f"s3://{BUCKET}/edge/rm/"])
    left = C.UPSTREAM.list_objects_v2(Bucket=BUCKET, Prefix="edge/rm/").get("KeyCount")
    expect(left == 0, f"{left} objects left upstream after aws s3 rm --recursive")


@check("aws s3api head-object, get-object --range, put-object --metadata (runs of spaces), Content-Type parameters, "
       "--cache-control, --content-disposition and --tagging; boto3 put/get/delete_object_tagging")
def _edge_s3api_headers():
    name = "edge/h \u00e9+x.bin"
    C.UPSTREAM.put_object(Bucket=BUCKET, Key=name, Body=b"0123456789")
    _, out, _ = C.aws(["s3api", "head-object", "--bucket", BUCKET, "--key", name])
    expect(json.loads(out)["ContentLength"] == 10, f"head-object: {out}")
    rng = os.path.join(WORK, "range.bin")
    C.aws(["s3api", "get-object", "--bucket", BUCKET, "--key", name, "--range", "bytes=2-4", rng])
    with open(rng, "rb") as f:
        expect(f.read() == b"234", "get-object --range: bytes differ")
    path, data = C.payload("meta.bin", 100)
    # Values with runs of spaces are signed collapsed (the canonical header value) and sent as they are.
    C.aws(["s3api", "put-object", "--bucket", BUCKET, "--key", "edge/meta.bin", "--body", path,
           "--metadata", json.dumps({"note": "a  b   c", "Upper-Case": "X"}),
           "--content-type", "text/plain; charset=utf-8", "--cache-control", "max-age=60, public",
           "--content-disposition", 'attachment; filename="a  b.txt"', "--tagging", "k1=v1&k2=v%202"])
    head = C.UPSTREAM.head_object(Bucket=BUCKET, Key="edge/meta.bin")
    expect(head["Metadata"] == {"note": "a  b   c", "upper-case": "X"}, f"metadata: {head['Metadata']}")
    expect(head["ContentType"] == "text/plain; charset=utf-8", f"content type: {head['ContentType']}")
    expect(head.get("ContentDisposition") == 'attachment; filename="a  b.txt"', f"{head.get('ContentDisposition')}")
    tags = C.UPSTREAM.get_object_tagging(Bucket=BUCKET, Key="edge/meta.bin")["TagSet"]
    expect(sorted((t["Key"], t["Value"]) for t in tags) == [("k1", "v1"), ("k2", "v 2")], f"tags: {tags}")
    s3 = C.client()
    s3.put_object_tagging(Bucket=BUCKET, Key=name, Tagging={"TagSet": [{"Key": "a b", "Value": "c+d=e/f"}]})
    tags = s3.get_object_tagging(Bucket=BUCKET, Key=name)["TagSet"]
    expect(tags == [{"Key": "a b", "Value": "c+d=e/f"}], f"get_object_tagging: {tags}")
    s3.delete_object_tagging(Bucket=BUCKET, Key=name)
    expect(C.UPSTREAM.get_object_tagging(Bucket=BUCKET, Key=name)["TagSet"] == [], "the tags were not deleted")


# ---------------------------------------------------------------- copies


@check("boto3 copy_object from keys with '+', '?', '#', '%', '~!*()' and '//./' (x-amz-copy-source), aws s3api copy-object; "
       "upload_part_copy with ranges, list_parts, complete, abort and list_multipart_uploads")
def _edge_copies():
    s3 = C.client()
    for src in ["edge/cp src+plus \u00e9?q=1#h.bin", "edge/cp %25 ~!*'().bin", "edge/cp//dbl/./x.bin"]:
        C.UPSTREAM.put_object(Bucket=BUCKET, Key=src, Body=src.encode())
        s3.copy_object(Bucket=BUCKET, Key=src + ".copy", CopySource={"Bucket": BUCKET, "Key": src},
                       MetadataDirective="REPLACE", Metadata={"copied": "yes"})
        expect(C.stored(src + ".copy") == src.encode(), f"copy of {src!r}: bytes differ")
    src = "edge/cp src+plus \u00e9?q=1#h.bin"
    C.aws(["s3api", "copy-object", "--bucket", BUCKET, "--key", "edge/cli copy.bin", "--copy-source", f"{BUCKET}/{src}"])
    expect(C.stored("edge/cli copy.bin") == src.encode(), "s3api copy-object: bytes differ")
    data = os.urandom(6 * 1024 * 1024)
    C.UPSTREAM.put_object(Bucket=BUCKET, Key="edge/upc src \u00e9.bin", Body=data)
    dst = "edge/upc dst+.bin"
    upload = s3.create_multipart_upload(Bucket=BUCKET, Key=dst)["UploadId"]
    parts = []
    for number, (first, last) in enumerate([(0, 5 * 1024 * 1024 - 1), (5 * 1024 * 1024, len(data) - 1)], 1):
        r = s3.upload_part_copy(Bucket=BUCKET, Key=dst, UploadId=upload, PartNumber=number,
                                CopySource={"Bucket": BUCKET, "Key": "edge/upc src \u00e9.bin"},
                                CopySourceRange=f"bytes={first}-{last}")
        parts.append({"PartNumber": number, "ETag": r["CopyPartResult"]["ETag"]})
    listed = s3.list_parts(Bucket=BUCKET, Key=dst, UploadId=upload)["Parts"]
    expect([p["PartNumber"] for p in listed] == [1, 2], f"list_parts: {listed}")
    s3.complete_multipart_upload(Bucket=BUCKET, Key=dst, UploadId=upload, MultipartUpload={"Parts": parts})
    expect(C.stored(dst) == data, "upload_part_copy: the completed object differs")
    aborted = s3.create_multipart_upload(Bucket=BUCKET, Key="edge/aborted \u00e9.bin")["UploadId"]
    uploads = s3.list_multipart_uploads(Bucket=BUCKET, Prefix="edge/")
    expect(aborted in [u["UploadId"] for u in uploads.get("Uploads", [])], f"list_multipart_uploads: {uploads.get('Uploads')}")
    s3.abort_multipart_upload(Bucket=BUCKET, Key="edge/aborted \u00e9.bin", UploadId=aborted)


# ---------------------------------------------------------------- presigned URLs


@check("presigned URLs: boto3 GET with response-content-* overrides, boto3 PUT with signed Content-Type and x-amz-meta-* "
       "sent by curl -T, aws s3 presign of keys with ' ', '+', '%', '~', '=' and '&'")
def _edge_presigned():
    presigner = C.client(signature_version="s3v4")
    C.UPSTREAM.put_object(Bucket=BUCKET, Key="edge/presigned.bin", Body=b"hello")
    url = presigner.generate_presigned_url("get_object", Params={
        "Bucket": BUCKET, "Key": "edge/presigned.bin", "ResponseContentType": "text/plain; charset=utf-8",
        "ResponseContentDisposition": 'attachment; filename="x y+z \u00e9.txt"', "ResponseCacheControl": "no-cache"},
        ExpiresIn=300)
    before = len(C.upstream_requests())
    code, body, err = curl([url])
    expect(code == "200" and body == "hello", f"presigned GET with overrides: HTTP {code} {body[:300]} {err}")
    # moto ignores the response-* overrides (S3 applies them): check that they reached it, and nothing else of the URL's.
    forwarded = [r["url"] for r in C.upstream_requests()[before:]]
    expect(len(forwarded) == 1 and "response-content-disposition=attachment;" in forwarded[0]
           and "response-content-type=" in forwarded[0] and "X-Amz-" not in forwarded[0],
           f"forwarded: {forwarded}")
    url = presigner.generate_presigned_url("put_object", Params={
        "Bucket": BUCKET, "Key": "edge/presigned put \u00e9.txt", "ContentType": "text/plain", "Metadata": {"a": "b"}},
        ExpiresIn=300)
    expect("content-type%3Bhost%3Bx-amz-meta-a" in url, f"Content-Type and x-amz-meta-a not signed: {url}")
    path, data = C.payload("presigned-put.txt", 100)
    code, body, err = curl(["-T", path, "-H", "Content-Type: text/plain", "-H", "x-amz-meta-a: b", url])
    expect(code == "200", f"presigned PUT with signed headers: HTTP {code} {body[:300]} {err}")
    expect(C.stored("edge/presigned put \u00e9.txt") == data, "presigned PUT: stored bytes differ")
    with C.NothingUpstream():
        code, body, _ = curl(["-T", path, "-H", "Content-Type: text/html", "-H", "x-amz-meta-a: b", url])
    expect(code == "403" and "<Code>SignatureDoesNotMatch</Code>" in body, f"another Content-Type: HTTP {code} {body[:300]}")
    for name in ["edge/cli presign+plus \u00e9.bin", "edge/cli presign %25~=&.bin"]:
        C.UPSTREAM.put_object(Bucket=BUCKET, Key=name, Body=b"z")
        _, url, _ = C.aws(["s3", "presign", f"s3://{BUCKET}/{name}", "--expires-in", "300"])
        code, body, err = curl(["--path-as-is", url.strip()])
        expect(code == "200" and body == "z", f"aws s3 presign {name!r}: HTTP {code} {body[:300]} {err}")


# ---------------------------------------------------------------- SDK settings, conditional requests, odd keys


@check("boto3 put_object with payload_signing_enabled on and off x request_checksum_calculation when_required and "
       "when_supported, http and https (signed hash, UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER)")
def _edge_payload_modes():
    modes = set()
    for tls in (False, True):
        for calculation in ("when_required", "when_supported"):
            for signing in (True, False):
                s3 = C.client(tls=tls, request_checksum_calculation=calculation, s3={"payload_signing_enabled": signing})
                seen = {}
                s3.meta.events.register("before-send.s3.PutObject",
                                        lambda request, **_: seen.update((k.lower(), v) for k, v in request.headers.items()))
                name = f"edge/mode-{'https' if tls else 'http'}-{calculation}-{signing}.bin"
                data = os.urandom(20_000)
                s3.put_object(Bucket=BUCKET, Key=name, Body=data)
                expect(C.stored(name) == data, f"{name}: stored bytes differ")
                sha = seen.get("x-amz-content-sha256", b"")
                sha = sha.decode() if isinstance(sha, bytes) else sha
                modes.add("sha256" if len(sha) == 64 else sha)
    expect(modes == {"sha256", "UNSIGNED-PAYLOAD", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"}, f"payload modes seen: {modes}")


@check("conditional and failing requests pass the upstream's answer through: If-None-Match 304, If-Match 412, "
       "NoSuchKey 404, HEAD 404 without a body")
def _edge_conditional():
    s3 = C.client()
    C.UPSTREAM.put_object(Bucket=BUCKET, Key="edge/cond.bin", Body=b"cond")
    etag = C.UPSTREAM.head_object(Bucket=BUCKET, Key="edge/cond.bin")["ETag"]
    got = status_of(lambda: s3.get_object(Bucket=BUCKET, Key="edge/cond.bin", IfNoneMatch=etag))
    expect(got[0] == 304, f"If-None-Match: {got}")
    got = status_of(lambda: s3.get_object(Bucket=BUCKET, Key="edge/cond.bin", IfMatch='"0000"'))
    expect(got[0] == 412, f"If-Match: {got}")
    got = status_of(lambda: s3.get_object(Bucket=BUCKET, Key="edge/missing.bin"))
    expect(got == (404, "NoSuchKey"), f"missing key: {got}")
    got = status_of(lambda: s3.head_object(Bucket=BUCKET, Key="edge/missing.bin"))
    expect(got[0] == 404, f"HEAD of a missing key: {got}")


@check("odd keys through boto3: 1,018 bytes (500 x e-acute), a tab, a trailing space, a control byte, DEL, a backslash, "
       "'..' alone and at the end, a leading '/', and '^|{}<>\"`'")
def _edge_odd_keys():
    s3 = C.client()
    names = ["edge/" + "\u00e9" * 500 + "x" * 12, "edge/tab\there", "edge/trailing space ", "edge/ctl\x01x",
             "edge/del\x7f", "edge/bs\\x", "..", "edge/..", "/leading", "edge/caret^ pipe| brace{} lt<gt> quote\" backtick`"]
    for i, name in enumerate(names):
        data = f"odd {i}".encode()
        s3.put_object(Bucket=BUCKET, Key=name, Body=data)
        expect(C.stored(name) == data, f"{name[:40]!r}: stored bytes differ")
        got = s3.get_object(Bucket=BUCKET, Key=name, Range=f"bytes=0-{len(data) - 1}")["Body"].read()
        expect(got == data, f"{name[:40]!r}: bytes read back differ")


# ---------------------------------------------------------------- listings, versions, a second bucket


@check("list_objects (v1) with EncodingType=url and Marker, list_objects_v2 FetchOwner; a second bucket made through the "
       "gateway: versioning, get and delete by VersionId, list_object_versions, copy of a version, delete_bucket")
def _edge_listing_versions():
    s3 = C.client()
    for name in ["edge/lv1/a b+c", "edge/lv1/\u00e9&<>"]:
        C.UPSTREAM.put_object(Bucket=BUCKET, Key=name, Body=b"l")
    page = s3.list_objects(Bucket=BUCKET, Prefix="edge/lv1/", EncodingType="url", Marker="edge/lv1/", MaxKeys=1)
    expect([o["Key"] for o in page.get("Contents", [])] == ["edge/lv1/a%20b%2Bc"], f"v1 page: {page.get('Contents')}")
    v2 = s3.list_objects_v2(Bucket=BUCKET, Prefix="edge/lv1/", FetchOwner=True)
    expect(sorted(o["Key"] for o in v2["Contents"]) == ["edge/lv1/a b+c", "edge/lv1/\u00e9&<>"], f"v2: {v2['Contents']}")
    bucket = "interop-edge-versions"
    s3.create_bucket(Bucket=bucket)
    s3.get_bucket_location(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    first = s3.put_object(Bucket=bucket, Key="ver \u00e9+.bin", Body=b"v1")["VersionId"]
    s3.put_object(Bucket=bucket, Key="ver \u00e9+.bin", Body=b"v2")
    got = s3.get_object(Bucket=bucket, Key="ver \u00e9+.bin", VersionId=first)["Body"].read()
    expect(got == b"v1", f"get_object VersionId: {got!r}")
    s3.copy_object(Bucket=bucket, Key="copy.bin", CopySource={"Bucket": bucket, "Key": "ver \u00e9+.bin", "VersionId": first})
    expect(C.UPSTREAM.get_object(Bucket=bucket, Key="copy.bin")["Body"].read() == b"v1", "copy of a version differs")
    versions = s3.list_object_versions(Bucket=bucket, Prefix="ver", MaxKeys=5).get("Versions", [])
    expect(len(versions) == 2, f"list_object_versions: {versions}")
    for v in s3.list_object_versions(Bucket=bucket).get("Versions", []):
        s3.delete_object(Bucket=bucket, Key=v["Key"], VersionId=v["VersionId"])
    s3.delete_bucket(Bucket=bucket)
    names = [b["Name"] for b in C.UPSTREAM.list_buckets()["Buckets"]]
    expect(bucket not in names, f"delete_bucket: {names}")


# ---------------------------------------------------------------- curl forms, virtual hosts, POST policy


@check("curl --aws-sigv4 to moto with valueless, repeated and empty query parameters (?list-type=2&fetch-owner, "
       "?prefix=a&prefix=a, '&&', ?uploads&prefix=, ?location), and a Transfer-Encoding: chunked upload")
def _edge_curl_forms():
    sig = curl_sigv4() + ["-H", "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"]
    for query, needle in (("list-type=2&prefix=edge%2F&fetch-owner&max-keys=2", "<ListBucketResult"),
                          ("list-type=2&prefix=edge/&prefix=edge/", "<ListBucketResult"),
                          ("list-type=2&&prefix=edge", "<ListBucketResult"),
                          ("uploads&prefix=edge", "<ListMultipartUploadsResult"),
                          ("location", "<LocationConstraint")):
        code, body, err = curl(sig + [f"{C.CFG['gateway']}/{BUCKET}?{query}"])
        expect(code == "200" and needle in body, f"?{query}: HTTP {code} {body[:300]} {err}")
    path, data = C.payload("te-chunked.bin", 70_000)
    code, body, err = curl(curl_sigv4() + ["-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD", "-H", "Transfer-Encoding: chunked",
                                           "-H", "Content-Type: application/octet-stream", "-T", path,
                                           f"{C.CFG['gateway']}/{BUCKET}/edge/te-chunked.bin"])
    expect(code == "200", f"chunked upload: HTTP {code} {body[:300]} {err}")
    expect(C.stored("edge/te-chunked.bin") == data, "chunked upload: stored bytes differ")


# Names under the gateway's --virtual-host-domain resolve to 127.0.0.1 (as a wildcard DNS entry would):
# in this process for boto3 and requests, in awscli's through its python prelude.
VHOST_DNS = """
import socket
_getaddrinfo = socket.getaddrinfo
def _vhost_getaddrinfo(host, *args, **kwargs):
    if isinstance(host, str) and host.endswith(".s3.localhost"):
        host = "127.0.0.1"
    return _getaddrinfo(host, *args, **kwargs)
socket.getaddrinfo = _vhost_getaddrinfo
"""


@check("virtual-hosted style (--virtual-host-domain s3.localhost): boto3 and awscli with addressing_style virtual, "
       "a boto3 presigned GET and curl --aws-sigv4 at interop-bucket.s3.localhost put, list and get objects that moto "
       "stores path style; a key limited to /interop-bucket/vhost/scoped/ works there and is refused AccessDenied "
       "beside it, a Host naming no valid bucket is refused InvalidBucketName, nothing refused upstream")
def _edge_virtual_host():
    # Until 2026-12-03 the gateway forwarded a virtual-hosted request as its path alone, so moto read the
    # key's first segment as the bucket.
    import socket
    domain = C.CFG["gateway_virtual_host"]
    endpoint = f"http://{domain}"
    virtual = {"addressing_style": "virtual"}
    saved = socket.getaddrinfo
    exec(VHOST_DNS, {"socket": socket})
    try:
        s3 = C.client(endpoint=endpoint, s3=virtual, signature_version="s3v4")  # SigV4 presigned URLs
        data = os.urandom(3000)
        s3.put_object(Bucket=BUCKET, Key="vhost/boto3 key.bin", Body=data)
        expect(C.stored("vhost/boto3 key.bin") == data, "boto3 virtual-hosted put_object: stored bytes")
        got = s3.get_object(Bucket=BUCKET, Key="vhost/boto3 key.bin")["Body"].read()
        expect(got == data, "boto3 virtual-hosted get_object: bytes")
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="vhost/").get("Contents", [])]
        expect("vhost/boto3 key.bin" in keys, f"list_objects_v2 at the bucket's host: {keys}")
        url = s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "vhost/boto3 key.bin"},
                                        ExpiresIn=300)
        expect(url.startswith(f"http://{BUCKET}.{domain}/"), f"presigned URL at the bucket's host: {url}")
        r = requests.get(url, timeout=30)
        expect(r.status_code == 200 and r.content == data, f"presigned GET: HTTP {r.status_code} {r.text[:200]}")

        scoped = C.client("bucket_scoped", endpoint=endpoint, s3=virtual)
        scoped.put_object(Bucket=BUCKET, Key="vhost/scoped/inside.bin", Body=b"inside")
        expect(C.stored("vhost/scoped/inside.bin") == b"inside", "scoped key inside its prefix: stored bytes")
        with C.NothingUpstream():
            C.expect_client_error(
                lambda: scoped.put_object(Bucket=BUCKET, Key="vhost/outside.bin", Body=b"outside"), "AccessDenied")
    finally:
        socket.getaddrinfo = saved

    path, cli_data = C.payload("vhost-cli.bin", 70_000)
    config = os.path.join(WORK, "aws-config-virtual")
    with open(config, "w") as f:
        f.write("[default]\ns3 =\n    signature_version = s3v4\n    addressing_style = virtual\n")
    C.aws(["s3", "cp", path, f"s3://{BUCKET}/vhost/cli.bin"], endpoint=endpoint, python_prelude=VHOST_DNS,
          env={"AWS_CONFIG_FILE": config})
    expect(C.stored("vhost/cli.bin") == cli_data, "awscli virtual-hosted s3 cp: stored bytes")

    port = domain.rsplit(":", 1)[1]
    curl_data = b"curl at the bucket's host"
    code, body, err = curl(curl_sigv4() + [
        "--resolve", f"{BUCKET}.s3.localhost:{port}:127.0.0.1", "-X", "PUT",
        "-H", f"x-amz-content-sha256: {hashlib.sha256(curl_data).hexdigest()}",
        # (moto reads a form-urlencoded body, curl's default type, as a form: it would store nothing)
        "-H", "Content-Type: application/octet-stream", "--data-binary", curl_data.decode(),
        f"http://{BUCKET}.{domain}/vhost/curl.bin"])
    expect(code == "200", f"curl virtual-hosted PUT: HTTP {code} {body[:300]} {err}")
    expect(C.stored("vhost/curl.bin") == curl_data, "curl virtual-hosted PUT: stored bytes")
    with C.NothingUpstream():
        code, body, err = curl(curl_sigv4() + [
            "--resolve", f"no_such.s3.localhost:{port}:127.0.0.1", f"http://no_such.{domain}/vhost/curl.bin"])
    expect(code == "400" and "<Code>InvalidBucketName</Code>" in body, f"invalid bucket host: HTTP {code} {body[:300]}")


def curl_form(post, path, filename):
    """curl -F posting boto3's presigned-post `post` with the file at `path` named `filename`: (code, body, err)."""
    args = []
    for name, value in post["fields"].items():
        args += ["--form-string", f"{name}={value}"]
    return curl(args + ["-F", f"file=@{path};filename={filename}", post["url"]])


@check("browser-form POST uploads (boto3 generate_presigned_post; requests and curl -F send the form): stored "
       "through the gateway as PUT /bucket/key with ${filename} replaced and the form's Content-Type and metadata, "
       "success_action_status 201 answers a PostResponse; a changed key, a file over content-length-range, a "
       "wrong secret and an expired policy are refused with S3's codes, nothing upstream")
def _edge_presigned_post():
    # Until 2026-12-03 the gateway refused every browser-form upload with AccessDenied.
    def presigned_post(k="good", key="post/${filename}", expires=300, **extra):
        return C.client(k, signature_version="s3v4").generate_presigned_post(
            BUCKET, key, Fields={"Content-Type": "text/plain", "x-amz-meta-origin": "form", **extra},
            Conditions=[{"Content-Type": "text/plain"}, {"x-amz-meta-origin": "form"},
                        ["content-length-range", 1, 1000]] + [{n: v} for n, v in extra.items()],
            ExpiresIn=expires)

    post = presigned_post()
    data = b"posted by requests"
    r = requests.post(post["url"], data=post["fields"], files={"file": ("hello form.txt", data)}, timeout=30)
    expect(r.status_code == 204, f"requests POST: HTTP {r.status_code} {r.text[:300]}")
    expect(C.stored("post/hello form.txt") == data, "requests POST: stored bytes")
    head = C.UPSTREAM.head_object(Bucket=BUCKET, Key="post/hello form.txt")
    expect(head["ContentType"] == "text/plain" and head["Metadata"].get("origin") == "form", f"object settings: {head}")

    path, curl_data = C.payload("form-curl.bin", 700)
    code, body, err = curl_form(post, path, "curl.bin")
    expect(code == "204", f"curl -F POST: HTTP {code} {body[:300]} {err}")
    expect(C.stored("post/curl.bin") == curl_data, "curl -F POST: stored bytes")

    created = presigned_post(key="post/created.txt", success_action_status="201")
    r = requests.post(created["url"], data=created["fields"], files={"file": ("x", b"created")}, timeout=30)
    expect(r.status_code == 201 and "<Key>post/created.txt</Key>" in r.text and "<ETag>" in r.text,
           f"success_action_status 201: HTTP {r.status_code} {r.text[:300]}")

    def refused(fields, file_bytes, status, code, what):
        with C.NothingUpstream():
            r = requests.post(post["url"], data=fields, files={"file": ("refused.txt", file_bytes)}, timeout=30)
        expect(r.status_code == status and f"<Code>{code}</Code>" in r.text, f"{what}: HTTP {r.status_code} {r.text[:300]}")

    refused({**post["fields"], "key": "elsewhere/${filename}"}, data, 403, "AccessDenied", "a changed key")
    refused(post["fields"], b"x" * 1001, 400, "EntityTooLarge", "a file over content-length-range")
    refused(presigned_post("wrong_secret")["fields"], data, 403, "SignatureDoesNotMatch", "a wrong secret")
    expired = presigned_post(expires=1)
    time.sleep(2.1)
    refused(expired["fields"], data, 403, "AccessDenied", "an expired policy")


@check("browser-form POST uploads larger than the gateway's --max-buffered-body (16 MiB): curl -F sends a 40 MiB "
       "file from disk and requests a 20 MiB one; the gateway verifies the fields before reading the file, holds "
       "it in an unlinked spool file and stores it upstream whole; one over content-length-range is refused "
       "with EntityTooLarge, nothing upstream")
def _edge_presigned_post_large():
    post = C.client("good", signature_version="s3v4").generate_presigned_post(
        BUCKET, "post-large/${filename}", Conditions=[["content-length-range", 1, 48 << 20]], ExpiresIn=300)
    path, big = C.payload("form-large.bin", 40 << 20)
    code, body, err = curl_form(post, path, "curl-40MiB.bin")
    expect(code == "204", f"curl -F 40 MiB: HTTP {code} {body[:300]} {err}")
    expect(C.stored("post-large/curl-40MiB.bin") == big, "curl -F 40 MiB: stored bytes")
    data = os.urandom(20 << 20)
    r = requests.post(post["url"], data=post["fields"], files={"file": ("requests-20MiB.bin", data)}, timeout=120)
    expect(r.status_code == 204, f"requests 20 MiB: HTTP {r.status_code} {r.text[:300]}")
    expect(C.stored("post-large/requests-20MiB.bin") == data, "requests 20 MiB: stored bytes")
    with C.NothingUpstream():
        r = requests.post(post["url"], data=post["fields"], files={"file": ("over.bin", os.urandom((48 << 20) + 1))},
                          timeout=120)
    expect(r.status_code == 400 and "<Code>EntityTooLarge</Code>" in r.text,
           f"a file over content-length-range: HTTP {r.status_code} {r.text[:300]}")