#!/usr/bin/env python3
"""Writes the seed corpora Fuzz/Corpus/<target>/ from the repository's test vectors (run from anywhere).

Seeds are small on purpose: libFuzzer grows the corpus itself; scripts/fuzz keeps the grown corpus in
Fuzz/.build/corpus/<target> and never writes back here.
"""
import glob
import hashlib
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SUITE = os.path.join(ROOT, "TestVectors", "aws-signing-test-suite", "v4")


def write(target, data):
    d = os.path.join(HERE, "Corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, hashlib.sha1(data).hexdigest()[:16]), "wb") as f:
        f.write(data)


def lines(path):
    with open(path, "rb") as f:
        return f.read().replace(b"\r\n", b"\n").split(b"\n")


# The SigV4a suite too (since session 9): its Authorization values and presigned queries.
cases = sorted(glob.glob(os.path.join(SUITE, "*"))) + sorted(glob.glob(os.path.join(SUITE + "a", "*")))
for case in cases:
    header = os.path.join(case, "header-signed-request.txt")
    query = os.path.join(case, "query-signed-request.txt")
    request = os.path.join(case, "request.txt")
    if os.path.exists(header):
        ls = lines(header)
        for l in ls:
            if l.lower().startswith(b"authorization:"):
                write("FuzzAuthorizationHeader", l.split(b":", 1)[1].strip())
        write("FuzzHTTPRequestReader", b"\x02" + b"\r\n".join(ls).rstrip(b"\r\n") + b"\r\n\r\n")
    if os.path.exists(query):
        first = lines(query)[0]
        target = first.split(b" ")[1]
        if b"?" in target:
            write("FuzzPresignedQuery", b"\x00" + target.split(b"?", 1)[1])
    if os.path.exists(request):
        ls = lines(request)
        method, target = ls[0].split(b" ")[0], ls[0].split(b" ")[1]
        fields = [method, target]
        for l in ls[1:]:
            if b":" in l:
                n, v = l.split(b":", 1)
                fields += [n, v]
        for flags in (b"\x03", b"\x00"):
            write("FuzzCanonicalRequest", flags + b"\x00".join(fields))
        # Same layout for the signer/verifier round trip: header mode, and presigned S3 with a token
        # verified from (name, value) fields.
        for flags in (b"\x00", b"\x0f"):
            write("FuzzSignVerify", flags + b"\x00".join(fields))

# Round-trip seeds the suite lacks: S3 keys, repeated and valueless query keys, x-amz-meta headers,
# repeated names, inner whitespace, dot segments, a port in Host.
for flags, fields in (
    (2, ["PUT", "/bucket/a%20b/../c//d?x=1&x=2&y", "X-Amz-Meta-Note", "  two   spaces  ", "Content-Type", "text/plain"]),
    (3, ["GET", "/bucket/key?list-type=2&prefix=a+b", "X-Amz-Meta-A", "1", "X-Amz-Meta-A", "2"]),
    (5, ["GET", "/caf%C3%A9/%E2%82%AC?q=%2B%20", "User-Agent", "fuzz/1.0"]),
    (8, ["DELETE", "/obj?versionId=abc", "Host", "example.amazonaws.com:8443"]),
    (14, ["PATCH", "//double//slash/", "My-Header", "a\tb", "Expect", "100-continue"]),
):
    write("FuzzSignVerify", bytes([flags]) + b"\x00".join(f.encode() for f in fields))
    # The same with the cross-signer check (bit 5), in each of the four regions (bits 6-7), header and presigned.
    for region in range(4):
        for presign in (0, 1):
            write("FuzzSignVerify", bytes([(flags & ~1) | presign | 0x20 | region << 6]) + b"\x00".join(f.encode() for f in fields))

# A chunked request with a trailer for the reader.
write("FuzzHTTPRequestReader", b"\x03PUT /o HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
      b"5;ext=1\r\nhello\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n")

# aws-chunked: structured seeds (odd byte 0) for every variant, and raw seeds (even byte 0).
for variant in range(12):
    b0 = 1 | (variant % 3) << 1 | (variant // 3) << 3
    for length in (0, 5, 8192, 8193, 17000):
        write("FuzzAWSChunked", bytes([b0, 7]) + struct.pack("<H", length) + b"\x00\x00\x00\x00" + b"abcdefgh")
    write("FuzzAWSChunked", bytes([b0, 0]) + struct.pack("<H", 100) + b"\x10\x00\x00\x01" + b"x")
sig = b"ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648"
write("FuzzAWSChunked", b"\x00\x03\x05\x00\x00\x00\x00\x00" + b"5;chunk-signature=" + sig + b"\r\nhello\r\n"
      b"0;chunk-signature=" + sig + b"\r\n\r\n")
write("FuzzAWSChunked", b"\x04\x01\x05\x00\x00\x00\x00\x00" + b"5\r\nhello\r\n0\r\n"
      b"x-amz-checksum-crc32:NhCmhg==\r\n\r\n")

# Master key files.
k1, k2 = "00" * 32, "0123456789abcdef" * 4
for text in (k1, f"1:{k1}\n", f"# sigv4 key store master keys\n1:{k1}\n2:{k2}\n", f"1:{k1}, 3:{k2}\r\n",
             f"2:{k2} # current\n"):
    write("FuzzMasterKeyFile", text.encode())

# curl arguments (NUL-separated argv): every `sigv4 curl … -- ARGS` example in the docs, and a few more.
import re
import shlex
for doc in ("README.md", os.path.join("Docs", "CLI.md")):
    with open(os.path.join(ROOT, doc)) as f:
        text = f.read().replace("\\\n", " ")
    for line in text.split("\n"):
        m = re.search(r"sigv4 curl .*? -- (.*)$", line)
        if m:
            try:
                write("FuzzCurlArguments", b"\x00".join(a.encode() for a in shlex.split(m.group(1))))
            except ValueError:
                pass
for argv in (
    ["-sSv", "-XPUT", "-H", "Content-Type: text/plain", "--data-binary", "@body.txt", "https://b.s3.amazonaws.com/k"],
    ["--url", "http://[::1]:8080/p?q=1#frag", "-G", "-d", "a=1", "--data-urlencode", "name@file", "-o", "out", "-w", "%{http_code}"],
    ["-I", "-u", "AKID:secret", "-H", "X-Empty;", "-H", "Accept:", "--json", "{}", "localhost:9000"],
    ["-T", "-", "--", "-not-an-option", "https://h/a%2Fb?x=%20"],
    ["-F", "a=b", "https://h/"], ["-sXPOST", "-Hx:y", "-d@-", "https://h/"],
):
    write("FuzzCurlArguments", b"\x00".join(a.encode() for a in argv))

# Credentials and config files (credentials NUL config NUL profile): the docs' example and awscli shapes.
with open(os.path.join(ROOT, "Docs", "CLI.md")) as f:
    blocks = re.findall(r"```ini\n(.*?)```", f.read(), re.S)
for block in blocks:
    write("FuzzCredentialsFile", b"\x00" + block.encode() + b"\x00dev")
credentials = (b"[default]\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY\n"
               b"\n[dev]\r\naws_access_key_id=AKIDDEV\r\naws_secret_access_key = s3cr3t ; comment\r\naws_session_token =\r\n")
config = (b"# comment\n[default]\nregion = us-east-1\n[profile dev]\nregion: eu-west-1 # inline\ns3 =\n"
          b"  addressing_style = path\n[profile ci]\nsource_profile = dev\ncredential_process = /bin/creds --json\n"
          b"[sso-session x]\nsso_region = us-east-1\n[profile  spaced ]\nregion=ap-south-1\n[broken\nkey = v\n")
for profile in (b"default", b"dev", b"ci", b"spaced", b"missing"):
    write("FuzzCredentialsFile", credentials + b"\x00" + config + b"\x00" + profile)
write("FuzzCredentialsFile", credentials)

# Captured requests (`sigv4 verify --request`, `explain --captured`): the real curl dumps in
# TestVectors/curl-captures (a dump over 4 KiB cut where the response starts, its first `<= ` line:
# seeds stay small and the request's blocks stay whole; a fixed 38 lines cut the HTTP/2 hex
# trace's longer preamble inside its Send header block), a raw request, and a `--trace-time`
# HTTP/2 `curl -v` shape.
for path in sorted(glob.glob(os.path.join(ROOT, "TestVectors", "curl-captures", "*.txt"))):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) > 4096:
        kept = data.splitlines(keepends=True)
        data = b"".join(kept[:next(i for i, line in enumerate(kept) if line.startswith(b"<= "))])
    write("FuzzCapturedRequest", data)
write("FuzzCapturedRequest", b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
write("FuzzCapturedRequest", b"09:11:08.123456 * Connected\n" + b"".join(
    b"09:11:08.123456 " + l + b"\r\n" for l in (b"> GET /p HTTP/2", b"> Host: h", b"> ")))

# Many header fields (since session 28): past the signer's and the verifier's stack scratch (24 fields,
# 768 bytes), where it grows onto the heap, and past each of the header sort's three ranges (up to 16,
# 17 to 512, more). Names share 8-, 16- and 24-byte starts (the word-at-a-time compare after the first
# 8 bytes), repeat, come in mixed case and in reverse order; a few values need trimming. Deterministic.
import random


def many_fields(kind, n):
    rng = random.Random(f"{kind}-{n}")
    if kind == "shared":
        stems = ["x-amz-meta-", "X-Amz-Server-Side-Encryption-", "x-bench-header-", "x-amz-meta-aaaaaaaaaaaaa", "x"]
        tails = ["", "a", "b", "1", "10", "ab", "aa", "0123456789abcdef", "0123456789abcdeg"]
        values = ["v", "  a   b  ", "", "x,y", "\tq"]
        fields = [(rng.choice(stems) + rng.choice(tails), rng.choice(values)) for _ in range(n)]
    elif kind == "short":
        # Short distinct names in descending order: every field moves in the sort.
        digits = "0123456789abcdefghijklmnopqrstuvwxyz"
        fields = [("a" + digits[i // 36] + digits[i % 36], "v") for i in reversed(range(n))]
    else:
        # A few long values: past the 768 scratch bytes with few fields.
        fields = [(f"x-amz-meta-big{i}", "w " * 150) for i in range(n)]
    return [(a.encode(), b.encode()) for a, b in fields]


field_sets = [("shared", 25), ("shared", 60), ("short", 100), ("short", 600), ("big", 3)]
for kind, n in field_sets:
    fields = many_fields(kind, n)
    flat = b"\x00".join(b"\x00".join(f) for f in fields)
    # The signer/verifier round trip reads at most 4,096 bytes.
    for flags in (0x00, 0x0a, 0x21):
        data = bytes([flags]) + b"PUT\x00/bucket/key?a=1\x00" + flat
        assert len(data) <= 4096, (kind, n, len(data))
        write("FuzzSignVerify", data)
    for flags in (b"\x00", b"\x03"):
        write("FuzzCanonicalRequest", flags + b"GET\x00/a/b?x=1\x00" + flat)
    if kind != "big":
        head = b"".join(name + b": " + value + b"\r\n" for name, value in fields)
        # The reader's default limit is 128 fields: 600 is past it.
        write("FuzzHTTPRequestReader", b"\x02GET /k HTTP/1.1\r\nHost: h\r\n" + head + b"\r\n")
        write("FuzzCapturedRequest", b"PUT /k HTTP/1.1\r\nHost: h\r\n" + head + b"\r\n")
        write("FuzzCapturedRequest", b"* Connected to h\n> PUT /k HTTP/1.1\r\n> Host: h\r\n" + b"".join(
            b"> " + name + b": " + value + b"\r\n" for name, value in fields) + b"> \r\n")

# Browser-form uploads (S3 POST Object) for BrowserFormUpload.parse: 5 bytes (byte 0: Content-Type variant in
# bits 0-2, limits in bits 3-4, mode in bits 5-7; byte 1: boundary; bytes 2-4: small limits), then the body.
# Raw mode with variant 7 takes the Content-Type from the body up to a NUL: the real clients' boundaries.
# Forms as botocore (urllib3), curl -F (what `sigv4 presign-post --format curl` runs) and browsers write them,
# fields from TestVectors/botocore-post, then edge shapes on the short boundary `b` (variant 0, byte 1 = 0).
import json

with open(os.path.join(ROOT, "TestVectors", "botocore-post", "cases.json")) as f:
    post_cases = json.load(f)["cases"]


def form(boundary, fields, file=(b"file", b"cat.jpg", b"hello"), file_headers=b"", close=b"--\r\n"):
    out = b""
    for name, value in fields:
        out += b"--" + boundary + b"\r\nContent-Disposition: form-data; name=\"" + name + b"\"\r\n\r\n" + value + b"\r\n"
    if file is not None:
        name, filename, data = file
        out += b"--" + boundary + b"\r\nContent-Disposition: form-data; name=\"" + name + b"\""
        if filename is not None:
            out += b"; filename=\"" + filename + b"\""
        out += b"\r\n" + file_headers + b"\r\n" + data + b"\r\n"
    return out + b"--" + boundary + close


def form_seed(boundary, body, header=b"\x07\x00\x00\x00\x00"):
    write("FuzzBrowserForm", header + b"multipart/form-data; boundary=" + boundary + b"\x00" + body)


def case_fields(i):
    return [(n.encode(), v.encode()) for n, v in post_cases[i]["form"]]


# botocore's generate_presigned_post fields posted by requests (urllib3: 32 hex digits, the file's part last).
form_seed(b"e2a8b4b7c1d0f3a9e6b5c4d3a2f1e0d9", form(b"e2a8b4b7c1d0f3a9e6b5c4d3a2f1e0d9", case_fields(0),
          (b"file", b"cat.png", b"\x89PNG\r\n\x1a\n"), b"Content-Type: image/png\r\n"))
# curl -F / --form-string (sigv4 presign-post --format curl).
curl = b"------------------------d74496d66958873e"
form_seed(curl, form(curl, case_fields(3), (b"file", b"cat.jpg", b"\xff\xd8\xff\xe0"),
                     b"Content-Type: application/octet-stream\r\n"))
# Chrome and Firefox: a file chosen from C:\fakepath, an empty text input, a submit button after the file.
chrome = b"----WebKitFormBoundary7MA4YWxkTrZu0gW"
form_seed(chrome, form(chrome, case_fields(1) + [(b"x-ignore-note", b"")],
                       (b"file", b"C:\\fakepath\\cat.jpg", b"JFIF"), b"Content-Type: image/jpeg\r\n",
                       close=b"\r\nContent-Disposition: form-data; name=\"submit\"\r\n\r\nUpload\r\n--" + chrome + b"--\r\n"))
firefox = b"---------------------------9051914041544843365972754266"
form_seed(b"\"" + firefox + b"\"", form(firefox, case_fields(2), (b"file", b"caf\xc3\xa9 \"1\".txt", b"text\r\n"),
                                         b"Content-Type: text/plain\r\n"))

short = [(b"key", b"uploads/${filename}"), (b"x-amz-algorithm", b"AWS4-HMAC-SHA256")]
for header, body in (
    (b"\x00\x00\x00\x00\x00", form(b"b", short)),                                         # boundary=b
    (b"\x02\x01\x00\x00\x00", form(b"xyz", [(b"KEY", b"k")], (b"File", b"a", b"x"))),     # BOUNDARY=, field-name case
    (b"\x05\x00\x00\x00\x00", form(b"b", short)),                                         # no boundary parameter
    (b"\x00\x00\x00\x00\x00", b"preamble\r\n" + form(b"b", short) + b"epilogue\r\n--b\r\n"),
    (b"\x00\x00\x00\x00\x00", form(b"b", short).replace(b"\r\n", b"\n")),                # LF-only lines
    (b"\x00\x00\x00\x00\x00", b"--b\r\nContent-Type: text/plain\r\n\r\nv\r\n" + form(b"b", short)),  # no disposition
    (b"\x00\x00\x00\x00\x00", form(b"b", short + [(b"key", b"second"), (b"Key", b"third")])),  # duplicated fields
    (b"\x00\x00\x00\x00\x00", form(b"b", short, (b"file", b"C:\\fakepath\\a \\\"b\\\".txt", b"x"))),  # escapes
    (b"\x00\x00\x00\x00\x00", form(b"b", short, (b"file", b"", b""))),                  # empty file, empty name
    (b"\x00\x00\x00\x00\x00", form(b"b", short, (b"file", None, b"data"))),             # file part without filename
    (b"\x00\x00\x00\x00\x00", form(b"b", short, None)),                                  # no file: InvalidArgument
    (b"\x00\x00\x00\x00\x00", form(b"b", [(b"k", b"\xc3\x28")])),                         # a value not UTF-8
    (b"\x00\x00\x00\x00\x00", form(b"b", [(b"k\xe2\x82\xac;\"x", b"v")]).replace(b"k\xe2\x82\xac;\"x", b"k\xe2\x82\xac;\\\"x")),
    (b"\x00\x00\x00\x00\x00", form(b"b", short).replace(b"form-data;", b"attachment;", 1)),  # not form-data
    (b"\x08\x00\x04\x08\x02", form(b"b", short, (b"file", b"f", b"x" * 10))),            # small limits: over them all
    (b"\x18\x00\x00\x10\x01", form(b"b", short)),                                         # one field allowed, 16 bytes
    (b"\x10\x00\x05\x00\x00", form(b"b", [], (b"file", b"f", b"123456"))),              # a file one byte too large
):
    write("FuzzBrowserForm", header + body)
# The writer (round trip) and the bucket reader.
write("FuzzBrowserForm", b"\xa0\x00\x00\x00\x00" + b"\x01\x03\x01key-name\x05value\x00" + b"\x00" * 8)
write("FuzzBrowserForm", b"\xc1\x06\x00\x00\x00" + bytes(range(1, 120)))
write("FuzzBrowserForm", b"\xe0\x00\x00\x00\x00/photos/\x00s3.example.com")
write("FuzzBrowserForm", b"\xe0\x01\x00\x00\x00/\x00photos.s3.example.com:8080")

# FuzzForwarding: ranges NUL peer NUL x-forwarded-for NUL x-forwarded-proto NUL forwarded (lines: values).
for ranges, peer, xff, xfp, fwd in (
    (b"10.0.0.0/8", b"10.0.0.1", b"203.0.113.7, 10.1.1.1", b"https", b""),           # a balancer's chain
    (b"", b"203.0.113.5", b"198.51.100.1", b"https", b""),                             # untrusted: fields unread
    (b"10.0.0.0/8\n::1", b"::1", b"", b"", b'for=192.0.2.60;proto=https;by=203.0.113.43, for="[2001:db8:cafe::17]:4711"'),
    (b"0.0.0.0/0\n::/0", b"192.0.2.9", b"::ffff:1.2.3.4,1.2.3.4 ,  2001:DB8::1\n10.0.0.3", b"HTTP\nhttps", b""),
    (b"192.0.2.0/24", b"192.0.2.9", b"unknown, 1.2.3.4", b"ftp", b"for=_hidden"),        # a name: the chain dropped
    (b"192.0.2.0/24", b"192.0.2.9", b", ".join([b"10.0.0.%d" % i for i in range(40)]), b"", b""),  # past 32
    (b"::/0", b"2001:db8::7", b"", b"", b'For="[::1]";Proto=HTTPS,for=unknown'),
):
    write("FuzzForwarding", ranges + b"\x00" + peer + b"\x00" + xff + b"\x00" + xfp + b"\x00" + fwd)
