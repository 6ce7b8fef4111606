#!/usr/bin/env python3
"""Adds up the --report files of hypothesis_diff.py runs (scripts/differential/run-large) into one JSON."""
import collections
import json
import sys

totals = dict(stats=collections.Counter(), disagreements=collections.Counter(), verifier=collections.Counter(),
              other_peers=collections.Counter())
failures = 0
chunks = 0
for path in sys.argv[1:]:
    with open(path) as f:
        report = json.load(f)
    chunks += 1
    failures += report["failure_count"]
    for key in totals:
        totals[key].update(report.get(key, {}))
out = {k: dict(sorted(v.items())) for k, v in totals.items()}
out.update(chunks=chunks, cases=totals["stats"]["cases"], failures=failures)
print(json.dumps(out, indent=1, ensure_ascii=False))
