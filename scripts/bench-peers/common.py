"""Shared fixture and timing loop for the peer drivers run by scripts/bench.

The request matches Benchmarks/Sources/SigV4Bench/Fixture.swift:
GET https://example.amazonaws.com/photos/2026/photo.jpg?size=large with Host,
My-Header1: value1 and Accept: application/json; service "service", region
us-east-1, empty body, signed at 2015-08-30T12:36:00Z.

Each driver loops in-process (interpreter start-up excluded). Every operation
builds a fresh request object, because the peers sign in place; the cost of
building that object alone is measured the same way and subtracted.
"""

import datetime
import json
import sys
import time

ACCESS_KEY_ID = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
REGION = "us-east-1"
SERVICE = "service"
HOST = "example.amazonaws.com"
PATH = "/photos/2026/photo.jpg"
QUERY = "size=large"
URL = f"https://{HOST}{PATH}?{QUERY}"
HEADERS = [("My-Header1", "value1"), ("Accept", "application/json")]
DATE = datetime.datetime(2015, 8, 30, 12, 36, 0, tzinfo=datetime.timezone.utc)


def best_ns_per_op(fn, quick):
    """Fastest batch, in ns of process CPU time per call (as the Swift runner measures), after
    calibrating a batch to ~target seconds. With --busy (as scripts/bench --busy gives the Swift
    rows): 60 batches of 20 ms, so that a peer, too, is timed in a batch the machine left alone."""
    target = 0.03 if quick else 0.1
    batches = 3 if quick else 5
    if "--busy" in sys.argv[1:]:
        target, batches = 0.02, 60
    fn()
    n = 8
    while True:
        t0 = time.process_time_ns()
        for _ in range(n):
            fn()
        dt = time.process_time_ns() - t0
        if dt >= target * 1e9 / 4:
            n = max(1, int(target * 1e9 / (dt / n)))
            break
        n *= 4
    best = float("inf")
    for _ in range(batches):
        t0 = time.process_time_ns()
        for _ in range(n):
            fn()
        best = min(best, (time.process_time_ns() - t0) / n)
    return best


def run(name, rows, quick):
    """rows: {row name: (operation, setup-only operation)}; prints {name: {row: ns}} as JSON."""
    out = {}
    for row, (op, setup) in rows.items():
        total = best_ns_per_op(op, quick)
        overhead = best_ns_per_op(setup, quick) if setup else 0.0
        out[row] = max(total - overhead, 1.0)
    json.dump({name: out}, sys.stdout)
    sys.stdout.write("\n")


def quick_flag():
    return "--quick" in sys.argv[1:]
