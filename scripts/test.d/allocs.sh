#!/usr/bin/env bash
# Run by scripts/test before `swift test`: the allocation-count regression guard (issue 8).
# Builds the benchmark binary (release) and checks heap allocations per operation of every row
# that has a budget (`scripts/bench --check-allocs`). Allocation counts are deterministic; no
# time is measured here. Set SIGV4_SKIP_ALLOCS=1 to skip.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [[ "${SIGV4_SKIP_ALLOCS:-0}" == 1 ]]; then echo "allocation check skipped (SIGV4_SKIP_ALLOCS=1)"; exit 0; fi
exec scripts/bench --check-allocs
