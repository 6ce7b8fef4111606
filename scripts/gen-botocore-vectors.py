#!/usr/bin/env python3
"""Generate a differential SigV4 corpus by having botocore sign random requests.

Every case records the exact request given to botocore (URL pieces, header
list in order, body, credentials, frozen time) and what botocore produced
(canonical request, string to sign, signature, added headers / presigned URL).
A Swift test re-signs the same wire bytes and compares byte for byte.

Usage:
    python3 scripts/gen-botocore-vectors.py [--seed 2026] [--count 2200]
        [--out TestVectors/botocore-differential/cases.json]
    python3 scripts/gen-botocore-vectors.py --s3express
        (S3 Express One Zone: signing name s3express, botocore's S3ExpressAuth and
        S3ExpressQueryAuth, a session token in every case; 400 cases, seed 3026,
        into TestVectors/botocore-s3express/cases.json)

The output is deterministic for a given seed, count and botocore version.
See TestVectors/botocore-differential/README.md for the field reference.
"""

import argparse
import base64
import collections
import datetime
import hashlib
import hmac
import json
import os
import random
import re
import string
import sys
from urllib.parse import parse_qs, parse_qsl, urlsplit

import botocore
import botocore.auth
from botocore.auth import (
    S3ExpressAuth,
    S3ExpressQueryAuth,
    S3SigV4Auth,
    S3SigV4QueryAuth,
    SigV4Auth,
    SigV4QueryAuth,
)
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.utils import normalize_url_path, percent_encode_sequence

EXPECTED_BOTOCORE = "1.43.11"

UNRESERVED = set(string.ascii_letters + string.digits + "-._~")
# A token that a spec-following signer would emit unchanged: unreserved
# characters and %XX escapes (uppercase hex) of characters that are not
# unreserved.
_PCT = re.compile(r"%([0-9A-Fa-f]{2})")

REGIONS = [
    "us-east-1", "us-east-2", "us-west-1", "us-west-2", "eu-west-1",
    "eu-central-1", "eu-north-1", "ap-southeast-1", "ap-southeast-2",
    "ap-northeast-1", "ap-south-1", "sa-east-1", "ca-central-1",
    "me-south-1", "af-south-1", "cn-north-1", "us-gov-west-1", "il-central-1",
]
NON_S3_SERVICES = ["service", "execute-api", "dynamodb", "lambda", "sts"]

WORDS = [
    "a", "b", "key", "Key", "photos", "2024", "index.html", "my-file",
    "data_set", "x~y", "Param", "param1", "Z", "object", "folder", "v1",
    "prefix", "list-type", "max-keys", "uploads", "acl", "tagging",
    "versionId", "partNumber", "uploadId", "marker", "delimiter",
    "Action", "Version", "foo", "bar", "baz", "qux", "test", "Test",
]
RAW_RESERVED = list("$&,:;=@!*'()+") + [" "]
RAW_UNICODE = ["é", "ሴ", "日本", "ü", "😀", "Ω", "ß", "ф", "€", "ñ"]
PRE_ENCODED_UPPER = ["%20", "%2F", "%E1%88%B4", "%24", "%3A", "%40", "%2B",
                     "%3D", "%26", "%C3%A9", "%E2%82%AC", "%25", "%3F",
                     "%23", "%F0%9F%98%80", "%2C", "%21"]
PRE_ENCODED_LOWER = ["%2f", "%e2%82%ac", "%c3%a9", "%3a", "%3d", "%2b",
                     "%e1%88%b4"]

HEADER_NAMES = [
    "X-Amz-Meta-Foo", "x-amz-meta-bar", "Content-Type", "X-Custom",
    "My-Header1", "Accept", "Cache-Control", "If-None-Match", "Range",
    "x-amz-acl", "X-Amz-Target", "Content-Encoding", "Content-Language",
    "x-amz-server-side-encryption", "X-Forwarded-For", "Accept-Encoding",
    "x-amz-tagging", "x-amz-storage-class", "Origin", "ZZ-Last",
    "a-first", "X-Amz-Meta-Ünused".encode("ascii", "ignore").decode(),
]
# Headers botocore never signs (SIGNED_HEADERS_BLACKLIST); sometimes added.
UNSIGNED_HEADER_NAMES = ["User-Agent", "Expect", "X-Amzn-Trace-Id"]

DEVIATION_ORDER = [
    "repeated-query-key-dropped",
    "plus-decoded-as-space",
    "s3-path-not-canonical",
    "query-not-canonical",
    "dot-segment-trailing-slash-dropped",
]
# Tags that mean a signer following the SigV4 spec on the same wire bytes
# is not expected to reproduce botocore's canonical request.
SPEC_DIVERGENT = {
    "s3-path-not-canonical",
    "query-not-canonical",
    "dot-segment-trailing-slash-dropped",
}


class Fail(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Fail(msg)


def is_canonical_token(s, allow_slash=False):
    """True if s is already in canonical SigV4 URI-encoded form."""
    i = 0
    while i < len(s):
        c = s[i]
        if c in UNRESERVED or (allow_slash and c == "/"):
            i += 1
            continue
        if c == "%":
            m = _PCT.match(s, i)
            if not m:
                return False
            hx = m.group(1)
            if hx != hx.upper():
                return False
            if chr(int(hx, 16)) in UNRESERVED:
                return False
            i += 3
            continue
        return False
    return True


# ---------------------------------------------------------------- generators

def rand_case(rng, s):
    return "".join(c.upper() if rng.random() < 0.5 else c.lower() for c in s)


def gen_segment(rng, wild):
    if wild:
        r = rng.random()
        if r < 0.07:
            return "."
        if r < 0.14:
            return ".."
        if r < 0.20:
            return ""  # produces '//'
    parts = []
    for _ in range(rng.randint(1, 3)):
        r = rng.random()
        if not wild or r < 0.40:
            if rng.random() < 0.8:
                parts.append(rng.choice(WORDS))
            else:
                parts.append(rng.choice(PRE_ENCODED_UPPER))
        elif r < 0.58:
            parts.append(rng.choice(RAW_RESERVED))
        elif r < 0.72:
            parts.append(rng.choice(RAW_UNICODE))
        elif r < 0.88:
            parts.append(rng.choice(PRE_ENCODED_UPPER))
        else:
            parts.append(rng.choice(PRE_ENCODED_LOWER))
    seg = "".join(parts)
    if seg in (".", ".."):
        seg += "x"
    return seg


def gen_path(rng, wild):
    if rng.random() < 0.06:
        return "/"
    n = rng.randint(1, 5)
    segs = [gen_segment(rng, wild) for _ in range(n)]
    path = "/" + "/".join(segs)
    if rng.random() < 0.25 and not path.endswith("/"):
        path += "/"
    if wild and rng.random() < 0.08:
        path = "/" + path  # leading '//'
    return path


def gen_query_token(rng, wild, is_key):
    r = rng.random()
    if not wild or r < 0.45:
        if rng.random() < 0.8:
            return rng.choice(WORDS)
        return rng.choice(WORDS) + rng.choice(PRE_ENCODED_UPPER) + rng.choice(WORDS)
    pieces = [rng.choice(WORDS)]
    for _ in range(rng.randint(1, 3)):
        q = rng.random()
        if q < 0.25:
            pieces.append(rng.choice(PRE_ENCODED_UPPER))
        elif q < 0.45:
            pieces.append(rng.choice(PRE_ENCODED_LOWER))
        elif q < 0.65:
            pieces.append(rng.choice(RAW_UNICODE))
        elif q < 0.80:
            # raw reserved; '&' and '#' would change the URL structure,
            # '=' only allowed inside values
            choices = list("$,:;@!*'()/?")
            if not is_key:
                choices += ["=", "=="]
            pieces.append(rng.choice(choices))
        elif q < 0.85:
            pieces.append("+")
        elif q < 0.93:
            pieces.append(" ")
        else:
            pieces.append(rng.choice(WORDS))
    return "".join(pieces)


def gen_query(rng, wild):
    """Return a raw query string (without '?'), possibly empty."""
    if rng.random() < 0.22:
        return ""
    pairs = []
    keys = []
    for _ in range(rng.randint(1, 6)):
        if keys and rng.random() < 0.15:
            key = rng.choice(keys)  # repeated key
        else:
            key = gen_query_token(rng, wild, True)
            if rng.random() < 0.1:
                key = rand_case(rng, key)
        if key.lower().startswith("x-amz-") or key == "":
            key = "k" + key
        keys.append(key)
        form = rng.random()
        if form < 0.10:
            pairs.append(key)  # '?a'
        elif form < 0.20:
            pairs.append(key + "=")  # '?a='
        else:
            pairs.append(key + "=" + gen_query_token(rng, wild, False))
    return "&".join(pairs)


def gen_header_value(rng):
    base = rng.choice([
        "value", "Value1", "text/plain", "application/json",
        '"a   b   c"', "gzip, deflate", "bytes=0-9", "*", "abc=def;g=h",
        "max-age=0", "UPPER lower", "1", "", "private",
        "aws:kms", "STANDARD", "k1=v1&k2=v2", "a,b,c", "x y  z",
    ])
    r = rng.random()
    if r < 0.15:
        base = " " * rng.randint(1, 3) + base
    elif r < 0.25:
        base = base + " " * rng.randint(1, 3)
    elif r < 0.32:
        base = "\t" + base + " \t "
    elif r < 0.40:
        base = base.replace(" ", "   ") + "  inner\t\trun  x"
    elif r < 0.43:
        base = "   "  # whitespace only
    return base


def gen_headers(rng, mode, s3, service):
    headers = []
    n = rng.choice([0, 0, 1, 1, 2, 2, 3, 4, 5])
    for _ in range(n):
        if headers and rng.random() < 0.2:
            name = headers[rng.randrange(len(headers))][0]
            if rng.random() < 0.5:
                name = rand_case(rng, name)  # duplicate, different case
        else:
            name = rng.choice(HEADER_NAMES)
            if rng.random() < 0.25:
                name = rand_case(rng, name)
        headers.append([name, gen_header_value(rng)])
    if rng.random() < 0.12:
        headers.insert(rng.randint(0, len(headers)),
                       [rng.choice(UNSIGNED_HEADER_NAMES),
                        rng.choice(["Botocore/1.0", "100-continue",
                                    "Root=1-5759e988-bd862e3fe1be46a994272793"])])
    if service == "dynamodb" and rng.random() < 0.6:
        headers.append(["X-Amz-Target", "DynamoDB_20120810.GetItem"])
    return headers


def gen_host(rng, s3, service, region):
    r = rng.random()
    if s3:
        if r < 0.45:
            host = f"examplebucket-{rng.randint(0, 999)}.s3.{region}.amazonaws.com"
        elif r < 0.70:
            host = f"s3.{region}.amazonaws.com"
        elif r < 0.80:
            host = "localhost"
        elif r < 0.88:
            host = "127.0.0.1"
        elif r < 0.93:
            host = "[::1]"
        else:
            host = "Example-Bucket.S3.Amazonaws.com"
    else:
        if r < 0.65:
            if service == "execute-api":
                host = f"abc{rng.randint(100, 999)}xyz.execute-api.{region}.amazonaws.com"
            elif service == "sts" and rng.random() < 0.5:
                host = "sts.amazonaws.com"
            else:
                host = f"{service}.{region}.amazonaws.com"
        elif r < 0.80:
            host = "localhost"
        elif r < 0.88:
            host = "10.0.0.1"
        elif r < 0.93:
            host = "[2001:db8::1]"
        else:
            host = f"{service.upper()}.Example.COM"
    return host


def gen_port(rng, scheme):
    r = rng.random()
    if r < 0.60:
        return None
    if r < 0.75:
        return 443 if scheme == "https" else 80  # explicit default port
    if r < 0.82:
        return 80 if scheme == "https" else 443  # the other scheme's default
    return rng.choice([8080, 9000, 4566, 8443, 1, 65535])


def gen_body(rng, method):
    if rng.random() < (0.35 if method in ("PUT", "POST") else 0.8):
        return b""
    if rng.random() < 0.5:
        choices = [
            "Welcome to Amazon S3.",
            '{"TableName":"t","Key":{"id":{"S":"ሴ"}}}',
            "Action=GetCallerIdentity&Version=2011-06-15",
            "line1\nline2\r\n\ttabbed  text ",
            "ünïcödé 😀",
        ]
        text = rng.choice(choices) * rng.randint(1, 20)
        return text.encode("utf-8")
    return bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 1500)))


def gen_credentials(rng):
    ak = "AKIA" + "".join(rng.choice(string.ascii_uppercase + string.digits)
                          for _ in range(rng.choice([12, 16])))
    alphabet = string.ascii_letters + string.digits + "+/"
    sk = "".join(rng.choice(alphabet) for _ in range(40))
    token = None
    if rng.random() < 0.35:
        token = "".join(rng.choice(alphabet) for _ in range(rng.randint(20, 300)))
        token += rng.choice(["", "=", "=="])
    return ak, sk, token


TS_MIN = datetime.datetime(2015, 1, 1)
TS_MAX = datetime.datetime(2030, 12, 31, 23, 59, 59)


def gen_timestamp(rng):
    span = int((TS_MAX - TS_MIN).total_seconds())
    return TS_MIN + datetime.timedelta(seconds=rng.randint(0, span))


# ------------------------------------------------------------------- signing

_FROZEN_NOW = [None]


def _frozen_get_current_datetime(remove_tzinfo=True):
    dt = _FROZEN_NOW[0]
    if not remove_tzinfo:
        dt = dt.replace(tzinfo=datetime.timezone.utc)
    return dt


# botocore.auth does `from botocore.compat import get_current_datetime` and
# calls it in SigV4Auth.add_auth; patch the name botocore.auth resolves.
botocore.auth.get_current_datetime = _frozen_get_current_datetime


def hmac_sig(secret, date, region, service, sts):
    def h(key, msg):
        return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()
    k = h(("AWS4" + secret).encode("utf-8"), date)
    k = h(k, region)
    k = h(k, service)
    k = h(k, "aws4_request")
    return hmac.new(k, sts.encode("utf-8"), hashlib.sha256).hexdigest()


def sign_case(rng, case_id, s3express=False):
    mode = "header" if rng.random() < 0.5 else "query"
    s3 = s3express or rng.random() < 0.4
    if s3express:
        service = "s3express"
    elif s3:
        service = "s3" if rng.random() < 0.9 else rng.choice(
            ["s3-outposts", "s3-object-lambda"])
    else:
        service = rng.choice(NON_S3_SERVICES)
    region = rng.choice(REGIONS)
    method = rng.choice(["GET", "PUT", "POST", "DELETE", "HEAD"])
    scheme = "https" if rng.random() < 0.75 else "http"
    host = gen_host(rng, s3, service, region)
    port = gen_port(rng, scheme)
    netloc = host if port is None else f"{host}:{port}"

    # S3 paths and header-mode queries are signed verbatim by botocore, so
    # most of them are generated in canonical form; the rest are "wild".
    path_wild = (not s3) or rng.random() < 0.35
    path = gen_path(rng, path_wild)
    query_wild = mode == "query" or rng.random() < 0.25
    original_query = gen_query(rng, query_wild)
    # A request target never ends in raw whitespace on the wire: HTTP (and
    # swift-http-types' :path pseudo-header) trims it. Keep the generated
    # bytes and the sent bytes equal by ending such targets with a letter.
    if original_query and original_query[-1] in " \t":
        original_query += "x"
    elif not original_query and path[-1] in " \t":
        path += "x"

    headers = gen_headers(rng, mode, s3, service)
    body = gen_body(rng, method) if mode == "header" else b""

    payload_signing_enabled = True
    if rng.random() < 0.12:
        payload_signing_enabled = False
        if s3 and mode == "header":
            # S3 only honours it over https with a checksum header present.
            if rng.random() < 0.8:
                headers.append(["Content-MD5", "1B2M2Y8AsgTpgAmY7PhCfg=="])
    if (not s3 and mode == "header" and payload_signing_enabled
            and rng.random() < 0.05):
        # A caller-supplied X-Amz-Content-SHA256 is used verbatim as the
        # payload hash by the non-S3 signer.
        headers.append(["X-Amz-Content-SHA256",
                        hashlib.sha256(body).hexdigest()])

    ak, sk, token = gen_credentials(rng)
    if s3express and token is None:
        # S3 Express credentials come from CreateSession: there is always a session token.
        token = "".join(rng.choice(string.ascii_letters + string.digits + "+/") for _ in range(rng.randint(20, 300)))
    ts = gen_timestamp(rng)
    expires = None
    if mode == "query":
        r = rng.random()
        expires = 1 if r < 0.03 else 604800 if r < 0.06 else rng.randint(1, 604800)

    url = f"{scheme}://{netloc}{path}"
    if original_query:
        url += "?" + original_query
    # Sanity: the URL splits back into exactly what we generated.
    parts = urlsplit(url)
    check(parts.path == path, f"path split mismatch {parts.path!r} {path!r}")
    check(parts.query == original_query, "query split mismatch")
    check(parts.netloc == netloc, "netloc split mismatch")

    creds = Credentials(ak, sk, token)
    if s3express:
        # The identity cache only resolves credentials before signing: the ones given are used.
        if mode == "header":
            cls = S3ExpressAuth
            auth = cls(creds, service, region, identity_cache=None)
        else:
            cls = S3ExpressQueryAuth
            auth = cls(creds, service, region, identity_cache=None, expires=expires)
    elif mode == "header":
        cls = S3SigV4Auth if s3 else SigV4Auth
        auth = cls(creds, service, region)
    else:
        cls = S3SigV4QueryAuth if s3 else SigV4QueryAuth
        auth = cls(creds, service, region, expires=expires)

    captured = {}
    orig_cr = auth.canonical_request
    orig_sts = auth.string_to_sign

    def cap_cr(request):
        v = orig_cr(request)
        captured["canonical_request"] = v
        return v

    def cap_sts(request, canonical_request):
        v = orig_sts(request, canonical_request)
        captured["string_to_sign"] = v
        return v

    auth.canonical_request = cap_cr
    auth.string_to_sign = cap_sts

    request = AWSRequest(method=method, url=url, data=body)
    for name, value in headers:
        request.headers[name] = value  # HTTPHeaders appends duplicates
    if not payload_signing_enabled:
        request.context["payload_signing_enabled"] = False
    check(list(request.headers.items()) == [tuple(h) for h in headers],
          "header list not stored as given")

    _FROZEN_NOW[0] = ts
    auth.add_auth(request)
    timestamp = ts.strftime("%Y%m%dT%H%M%SZ")

    cr = captured["canonical_request"]
    sts = captured["string_to_sign"]
    sts_lines = sts.split("\n")
    check(len(sts_lines) == 4, "string to sign has 4 lines")
    check(sts_lines[0] == "AWS4-HMAC-SHA256", "algorithm line")
    check(sts_lines[1] == timestamp, "timestamp line")
    check(sts_lines[2] == f"{timestamp[:8]}/{region}/{service}/aws4_request",
          "scope line")
    check(sts_lines[3] == hashlib.sha256(cr.encode("utf-8")).hexdigest(),
          "sha256(canonical_request) != last line of string_to_sign")
    my_sig = hmac_sig(sk, timestamp[:8], region, service, sts)

    cr_lines = cr.split("\n")
    payload_hash = cr_lines[-1]
    signed_headers = cr_lines[-2]
    authority = botocore.auth._host_from_url(request.url)
    check(f"host:{authority}" in cr_lines, "host line not as expected")

    final_items = [list(x) for x in request.headers.items()]
    check(final_items[:len(headers)] == headers,
          "supplied headers were modified by botocore")
    added = final_items[len(headers):]

    expected = {
        "canonical_request": cr,
        "string_to_sign": sts,
        "signature": None,
        "signed_headers": signed_headers,
        "authorization": None,
        "added_headers": added,
        "url": None,
    }
    tags = []
    if mode == "header":
        authz = request.headers["Authorization"]
        m = re.fullmatch(
            r"AWS4-HMAC-SHA256 Credential=([^,]+), SignedHeaders=([^,]+), "
            r"Signature=([0-9a-f]{64})", authz)
        check(m is not None, f"authorization format: {authz}")
        check(m.group(1) == f"{ak}/{timestamp[:8]}/{region}/{service}/aws4_request",
              "credential")
        check(m.group(2) == signed_headers, "signed headers mismatch")
        sig = m.group(3)
        check(request.url == url, "botocore changed the URL in header mode")
        wire_query = original_query
        expected["authorization"] = authz
        expected["signature"] = sig
        if wire_query:
            for pair in wire_query.split("&"):
                k, _, v = pair.partition("=")
                if not (is_canonical_token(k) and is_canonical_token(v)):
                    tags.append("query-not-canonical")
                    break
    else:
        final_url = request.url
        fparts = urlsplit(final_url)
        check(fparts.path == path and fparts.netloc == netloc,
              "presigned URL path/netloc changed")
        fq = fparts.query
        m = re.search(r"&X-Amz-Signature=([0-9a-f]{64})$", fq)
        check(m is not None, "no signature in URL")
        sig = m.group(1)
        idx = fq.find("X-Amz-Algorithm=")
        check(idx >= 0, "no X-Amz-Algorithm in URL")
        input_query = fq[:idx]
        if input_query:
            check(input_query.endswith("&"), "op params not '&'-terminated")
            input_query = input_query[:-1]
        # Re-derive botocore's operation params independently.
        qd = {k: v[0] for k, v in
              parse_qs(original_query, keep_blank_values=True).items()}
        check(input_query == percent_encode_sequence(qd),
              "input_query does not match parse_qs/percent_encode_sequence")
        auth_params = fq[idx:m.start()]
        ap = dict(p.split("=", 1) for p in auth_params.split("&"))
        check(ap["X-Amz-SignedHeaders"] == signed_headers.replace(";", "%3B"),
              "query signed headers")
        check(ap["X-Amz-Expires"] == str(expires), "expires")
        check(ap["X-Amz-Date"] == timestamp, "date")
        wire_query = input_query
        expected["signature"] = sig
        expected["url"] = final_url
        # parse_qs keys are compared after decoding ('a+b' == 'a%20b').
        keys = [k for k, _ in parse_qsl(original_query, keep_blank_values=True)]
        if len(set(keys)) != len(keys):
            tags.append("repeated-query-key-dropped")
        if "+" in original_query:
            tags.append("plus-decoded-as-space")
        check(added == [], "query mode added headers")

    check(sig == my_sig, "signature does not match independent HMAC chain")

    if s3:
        if not is_canonical_token(path, allow_slash=True):
            tags.append("s3-path-not-canonical")
        check(cr_lines[1] == path, "S3 path not verbatim")
    else:
        segs = path.split("/")
        if segs[-1] in (".", "..") and normalize_url_path(path) != "/":
            tags.append("dot-segment-trailing-slash-dropped")

    tags = [t for t in DEVIATION_ORDER if t in tags]
    case = collections.OrderedDict([
        ("id", case_id),
        ("mode", mode),
        ("s3", s3),
        ("botocore_class", cls.__name__),
        ("method", method),
        ("scheme", scheme),
        ("url_netloc", netloc),
        ("authority", authority),
        ("path", path),
        ("query", wire_query),
        ("original_query", original_query),
        ("botocore_deviation", ",".join(tags) if tags else None),
        ("spec_divergent", any(t in SPEC_DIVERGENT for t in tags)),
        ("headers", headers),
        ("body_b64", base64.b64encode(body).decode("ascii") if mode == "header" else None),
        ("payload_signing_enabled", payload_signing_enabled),
        ("payload_hash", payload_hash),
        ("region", region),
        ("service", service),
        ("timestamp", timestamp),
        ("access_key_id", ak),
        ("secret_access_key", sk),
        ("session_token", token),
        ("expires", expires),
        ("expected", expected),
    ])
    return case


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--s3express", action="store_true",
                    help="the S3 Express One Zone corpus (s3express, S3ExpressAuth/S3ExpressQueryAuth)")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--count", type=int, default=None)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    if args.seed is None:
        args.seed = 3026 if args.s3express else 2026
    if args.count is None:
        args.count = 400 if args.s3express else 2200
    if args.out is None:
        args.out = ("TestVectors/botocore-s3express/cases.json" if args.s3express
                    else "TestVectors/botocore-differential/cases.json")

    if botocore.__version__ != EXPECTED_BOTOCORE:
        print(f"warning: botocore {botocore.__version__} (corpus documented "
              f"for {EXPECTED_BOTOCORE})", file=sys.stderr)

    rng = random.Random(args.seed)
    cases = []
    skipped = collections.Counter()
    attempts = 0
    while len(cases) < args.count:
        attempts += 1
        # Each attempt draws from its own sub-generator so a skipped case
        # does not shift the random stream of the following ones.
        sub = random.Random(rng.getrandbits(64))
        try:
            cases.append(sign_case(sub, len(cases), s3express=args.s3express))
        except Fail:
            raise
        except Exception as e:  # botocore threw: leave the case out
            skipped[type(e).__name__] += 1
        if attempts > args.count * 2:
            raise SystemExit("too many botocore failures")

    out_dir = os.path.dirname(args.out)
    if out_dir:
        os.makedirs(out_dir, exist_ok=True)
    with open(args.out, "w", encoding="utf-8", newline="\n") as f:
        f.write("[\n")
        f.write(",\n".join(json.dumps(c, ensure_ascii=False, separators=(",", ":"))
                           for c in cases))
        f.write("\n]\n")

    by = collections.Counter((c["mode"], c["s3"]) for c in cases)
    dev = collections.Counter()
    for c in cases:
        for t in (c["botocore_deviation"] or "none").split(","):
            dev[(c["mode"], t)] += 1
    print(f"botocore {botocore.__version__}, seed {args.seed}: "
          f"{len(cases)} cases -> {args.out} ({os.path.getsize(args.out)} bytes)")
    for (mode, s3), n in sorted(by.items()):
        print(f"  mode={mode:6s} s3={str(s3):5s} {n}")
    print(f"  spec_divergent: {sum(c['spec_divergent'] for c in cases)}")
    for (mode, t), n in sorted(dev.items()):
        print(f"  deviation[{mode}] {t}: {n}")
    misc = collections.Counter()
    for c in cases:
        misc["session_token"] += c["session_token"] is not None
        misc["unsigned-payload"] += c["payload_hash"] == "UNSIGNED-PAYLOAD"
        misc["non-empty body"] += bool(c["body_b64"])
        misc["duplicate header names"] += (
            len({h[0].lower() for h in c["headers"]}) != len(c["headers"]))
        misc["port in authority"] += (":" in c["authority"].rsplit("]", 1)[-1])
    for k, n in sorted(misc.items()):
        print(f"  {k}: {n}")
    if skipped:
        print(f"  skipped (botocore raised): {dict(skipped)}")


if __name__ == "__main__":
    main()
