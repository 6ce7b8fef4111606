#!/usr/bin/env bash
# Pre-test hook of scripts/test: the interop suite (real AWS clients through `sigv4 serve` to moto).
# About 1.5 minutes after the build. Skip with SIGV4_SKIP_INTEROP=1.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [[ "${SIGV4_SKIP_INTEROP:-0}" == 1 ]]; then
    echo "interop suite skipped (SIGV4_SKIP_INTEROP=1)"
    exit 0
fi
log=$(mktemp)
if ! swift build --product sigv4 >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    exit 1
fi
rm -f "$log"
scripts/interop/run.sh .build/debug/sigv4
