#!/usr/bin/env bash
# Run by scripts/test before `swift test`: the instruction-count regression guard (issue 8).
# Counts the instructions per operation each budgeted benchmark row executes outside libcrypto,
# under valgrind's callgrind (`scripts/instructions --check`, budgets in
# Benchmarks/instruction-budgets.txt). Instruction counts are deterministic for a build, as
# allocation counts are; no time is measured here. Set SIGV4_SKIP_INSTRUCTIONS=1 to skip.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [[ "${SIGV4_SKIP_INSTRUCTIONS:-0}" == 1 ]]; then
    echo "instruction check skipped (SIGV4_SKIP_INSTRUCTIONS=1)"
    exit 0
fi
exec scripts/instructions --check
