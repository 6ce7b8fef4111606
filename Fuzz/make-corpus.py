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


cases = sorted(glob.glob(os.path.join(SUITE, "*")))
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
