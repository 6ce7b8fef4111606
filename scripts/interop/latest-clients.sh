#!/usr/bin/env bash
# The interop suite and the botocore/awscrt differential run against the newest boto3, botocore,
# awscli, awscrt and awscurl on PyPI instead of the versions scripts/requirements-test.txt pins
# (scripts/test uses the pinned ones, so that a new release cannot turn a run red by itself). Run it
# to learn early whether a client release changes what reaches the gateway. moto stays pinned: it
# is the upstream, not a client under test.
#
# Usage: scripts/interop/latest-clients.sh [venv-dir]    (default: a temporary directory, removed)
# Needs: what scripts/interop/run.sh needs, python3-venv, and network access to PyPI.
set -euo pipefail
cd "$(dirname "$0")/../.."

venv=${1:-}
if [[ -z "$venv" ]]; then
    venv=$(mktemp -d)
    trap 'rm -rf "$venv"' EXIT
fi
python3 -m venv "$venv"
"$venv/bin/pip" install -q --upgrade boto3 botocore awscli awscrt awscurl \
    "$(grep -i '^moto' scripts/requirements-test.txt)" \
    "$(grep -i '^requests==' scripts/requirements-test.txt)" "$(grep -i '^h2==' scripts/requirements-test.txt)" \
    "$(grep -i '^websockets==' scripts/requirements-test.txt)" "$(grep -i '^hypothesis==' scripts/requirements-test.txt)"
echo "== clients: $("$venv/bin/pip" list 2>/dev/null | grep -i -E '^(boto3|botocore|awscli|awscrt|awscurl) ' | tr -s ' ' | paste -sd, -)"

swift build --product sigv4 >/dev/null
swift build --product SigV4DiffDriver >/dev/null
export PATH="$venv/bin:$PATH"

echo "== botocore corpora (only the recorded botocore version may differ)"
source scripts/lib/botocore-corpora.sh
tmp=$(mktemp)
for corpus in "${BOTOCORE_CORPORA[@]}"; do
    regenerate_botocore_corpus "$corpus" "$tmp" 2>/dev/null
    file=$(botocore_corpus_file "$corpus")
    python3 - "$tmp" "$file" <<'PY'
import json, sys
new, old = (json.load(open(p)) for p in sys.argv[1:3])
for d in (new, old):
    if isinstance(d, dict):
        d.pop("botocore", None)
sys.exit(0 if new == old else f"{sys.argv[2]}: the newest botocore signs it differently")
PY
    echo "${file#TestVectors/}: same signatures"
done
rm -f "$tmp"

echo "== differential (Hypothesis, ${SIGV4_DIFF_CASES:-2000} cases; the Go and Ruby signers are left to scripts/test)"
python3 scripts/differential/hypothesis_diff.py --cases "${SIGV4_DIFF_CASES:-2000}" \
    --driver .build/debug/SigV4DiffDriver --go off --ruby off | tail -1

echo "== interop suite"
scripts/interop/run.sh .build/debug/sigv4
