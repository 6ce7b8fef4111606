#!/usr/bin/env python3
"""Derives and checks the carry-less-multiply folding constants of CRC-64/NVME used by
Sources/CSigV4OpenSSL/shim.h (CSigV4OpenSSL_crc64_pclmul_fold).

The shim folds 16-byte lanes (loaded little-endian) with PCLMULQDQ: lane(lo) * k(lo) ^ lane(hi) *
k(hi) ^ next lane, four lanes 64 bytes apart with k512 and then lanes 16 bytes apart with k128,
and the Swift side finishes with the table CRC over the 16 folded bytes and the tail. This
script models exactly that in Python, takes each constant as bit-reflected x^e mod P, searches
the exponents that make the model equal the bitwise CRC, and then checks the model on random
inputs and registers. Usage: python3 scripts/crc64-fold-constants.py
"""
import os
import random

P = 0xAD93D23594C93659  # CRC-64/NVME, normal form (x^64 implicit)
R = 0x9A6C9329AC4BC9B5  # the same, bit-reflected
M64 = (1 << 64) - 1


def crc_update(reg, data):
    for b in data:
        reg ^= b
        for _ in range(8):
            reg = (reg >> 1) ^ R if reg & 1 else reg >> 1
    return reg


def clmul(a, b):
    r = 0
    while b:
        if b & 1:
            r ^= a
        a <<= 1
        b >>= 1
    return r


def x_pow_mod_p(e):
    r = 1
    for _ in range(e):
        r <<= 1
        if r >> 64:
            r = (r & M64) ^ P
    return r


def reflect64(v):
    return int(f"{v:064b}"[::-1], 2)


def fold(x, k, nxt):
    return (clmul(x & M64, k[0]) ^ clmul(x >> 64, k[1]) ^ nxt) & ((1 << 128) - 1)


def model(data, k512, k128, crc=M64):
    """The shim's fold (n >= 64) followed by the table finish; returns the raw register."""
    lanes = [int.from_bytes(data[i:i + 16], "little") for i in range(0, len(data) - len(data) % 16, 16)]
    x = [lanes[0] ^ crc, lanes[1], lanes[2], lanes[3]]
    done = 4
    while len(lanes) - done >= 4:
        x = [fold(x[j], k512, lanes[done + j]) for j in range(4)]
        done += 4
    x0 = fold(fold(fold(x[0], k128, x[1]), k128, x[2]), k128, x[3])
    while done < len(lanes):
        x0 = fold(x0, k128, lanes[done])
        done += 1
    reg = crc_update(0, x0.to_bytes(16, "little"))
    return crc_update(reg, data[done * 16:])


def search(data, fixed128=None):
    want = crc_update(M64, data)
    if fixed128 is None:
        window = [(lo, hi) for lo in range(120, 260) for hi in range(60, 200)]
        for lo, hi in window:
            k = (reflect64(x_pow_mod_p(lo)), reflect64(x_pow_mod_p(hi)))
            # 64 bytes: three k128 folds and no k512 fold.
            if model(data[:64], k, k) == crc_update(M64, data[:64]):
                return (lo, hi)
    else:
        for lo in range(540, 620):
            for hi in range(480, 540):
                k = (reflect64(x_pow_mod_p(lo)), reflect64(x_pow_mod_p(hi)))
                if model(data, k, fixed128) == want:
                    return (lo, hi)
    raise SystemExit("no exponents found")


def main():
    rng = random.Random(7)
    data = bytes(rng.getrandbits(8) for _ in range(64 * 3 + 39))
    e128 = search(data)
    k128 = tuple(reflect64(x_pow_mod_p(e)) for e in e128)
    e512 = search(data, k128)
    k512 = tuple(reflect64(x_pow_mod_p(e)) for e in e512)
    for _ in range(300):
        n = rng.choice([64, 65, 79, 80, 127, 128, 129, 200, 1000, 4099])
        d = os.urandom(n)
        crc = rng.getrandbits(64)
        assert model(d, k512, k128, crc) == crc_update(crc, d), n
    print(f"k512: x^{e512[0]}, x^{e512[1]} mod P reflected = {{0x{k512[0]:016x}, 0x{k512[1]:016x}}}")
    print(f"k128: x^{e128[0]}, x^{e128[1]} mod P reflected = {{0x{k128[0]:016x}, 0x{k128[1]:016x}}}")
    print("the model equals the bitwise CRC on 300 random inputs and registers")


if __name__ == "__main__":
    main()
