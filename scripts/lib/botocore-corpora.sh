# Sourced by scripts/test and scripts/interop/latest-clients.sh: the committed botocore corpora and
# how each is made, in one place.
#
#   for corpus in "${BOTOCORE_CORPORA[@]}"; do
#       regenerate_botocore_corpus "$corpus" "$tmp"   # what the installed botocore writes for it
#       committed=$(botocore_corpus_file "$corpus")    # TestVectors/…, to compare with
#   done
#
# Each entry is GENERATOR:FLAG:FILE (a script under scripts/, its one flag or nothing, the file under
# TestVectors/).
BOTOCORE_CORPORA=(
    gen-botocore-vectors.py::botocore-differential/cases.json
    gen-botocore-vectors.py:--s3express:botocore-s3express/cases.json
    gen-botocore-post-vectors.py::botocore-post/cases.json
    gen-botocore-post-vectors.py:--s3express:botocore-post/s3express-cases.json
)

# regenerate_botocore_corpus CORPUS OUT: runs CORPUS's generator with the python3 on PATH into OUT.
regenerate_botocore_corpus() {
    local generator flag file
    IFS=: read -r generator flag file <<<"$1"
    python3 "scripts/$generator" $flag --out "$2" >/dev/null
}

# botocore_corpus_file CORPUS: the committed file's path.
botocore_corpus_file() {
    local generator flag file
    IFS=: read -r generator flag file <<<"$1"
    echo "TestVectors/$file"
}
