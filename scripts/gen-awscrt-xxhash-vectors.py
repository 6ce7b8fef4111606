#!/usr/bin/env python3
"""xxHash checksums computed by awscrt (aws-checksums, the code botocore uses for S3's
`XXHASH64`, `XXHASH3` and `XXHASH128` checksum algorithms), as S3 sends them: base64 of the
big-endian hash (the 128-bit one high half first).

Inputs are deterministic: byte i of an input is (i * 131 + 7) % 251. The lengths cover every
size class of XXH3 (0, 1-3, 4-8, 9-16, 17-128, 129-240, and the long path: stripes, block
boundaries at multiples of 1024, the last stripe) and of XXH64 (below and above 32 bytes).
Each input is also hashed through awscrt's streaming interface in uneven pieces, which must
agree with the one-shot value (the script fails otherwise).

Output: TestVectors/awscrt-xxhash/vectors.json

Usage:
    pip install -r scripts/requirements-test.txt   # awscrt==0.38.1
    python3 scripts/gen-awscrt-xxhash-vectors.py
"""
import base64
import json
import os

import awscrt
from awscrt import checksums

LENGTHS = sorted(
    set(range(0, 300))
    | {319, 320, 321, 500, 511, 512, 513, 1000, 1023, 1024, 1025, 1087, 1088, 1089, 2047, 2048, 2049}
    | {3000, 4096, 4097, 8191, 16384, 16448, 65536, 66560, 100003}
)


def data(n):
    return bytes((i * 131 + 7) % 251 for i in range(n))


def digest(factory, b, pieces=None):
    h = factory()
    if pieces is None:
        h.update(b)
    else:
        at = 0
        for p in pieces:
            h.update(b[at:at + p])
            at += p
        h.update(b[at:])
    return base64.b64encode(h.finalize()).decode()


FACTORIES = {
    "xxhash64": checksums.XXHash.new_xxhash64,
    "xxhash3": checksums.XXHash.new_xxhash3_64,
    "xxhash128": checksums.XXHash.new_xxhash3_128,
}

cases = []
for n in LENGTHS:
    b = data(n)
    case = {"length": n}
    for name, factory in FACTORIES.items():
        one = digest(factory, b)
        split = digest(factory, b, [1, 7, 63, 64, 200, 300, 1500])
        assert one == split, (name, n)
        case[name] = one
    cases.append(case)

out = {
    "generator": "scripts/gen-awscrt-xxhash-vectors.py",
    "awscrt": awscrt.__version__ if hasattr(awscrt, "__version__") else "0.38.1",
    "input": "byte i = (i * 131 + 7) % 251",
    "encoding": "base64 of the big-endian hash (XXH128: high 64 bits first)",
    "cases": cases,
}
path = os.path.join(os.path.dirname(__file__), "..", "TestVectors", "awscrt-xxhash", "vectors.json")
with open(path, "w") as f:
    json.dump(out, f, indent=1)
    f.write("\n")
print(f"wrote {len(cases)} cases to {os.path.normpath(path)}")
