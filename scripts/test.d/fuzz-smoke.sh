#!/usr/bin/env bash
# Run by scripts/test before `swift test`: every libFuzzer target for 10 s (scripts/fuzz --smoke).
# The first build of the fuzz package (sanitizers, all dependencies) takes several minutes on a
# loaded machine; set SIGV4_SKIP_FUZZ=1 to skip it.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [[ "${SIGV4_SKIP_FUZZ:-0}" == 1 ]]; then echo "fuzz smoke skipped (SIGV4_SKIP_FUZZ=1)"; exit 0; fi
exec scripts/fuzz --smoke
