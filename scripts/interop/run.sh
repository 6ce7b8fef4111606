#!/usr/bin/env bash
# Interop suite: real AWS clients (awscli, boto3, curl --aws-sigv4, awscurl, node's aws4, Ruby's
# aws-sdk-s3, the Go SDK v2's S3 client, the project's Swift adapters) through `sigv4 serve`, with
# moto's S3 server as the upstream, all on 127.0.0.1.
#
# Usage: scripts/interop/run.sh [path/to/sigv4]       (default: .build/debug/sigv4, built if missing)
# Env:   INTEROP_ONLY=<substring of a check function>  run the matching checks (after the bucket is made);
#        INTEROP_VERBOSE=1 for tracebacks;
#        INTEROP_TLS_PROXY=1 puts the HTTPS checks through tls_proxy.py in front of the plain gateway
#        instead of the gateway's own TLS (--tls-certificate).
#
# Needs: moto[server], awscli, boto3, awscurl, awscrt (scripts/requirements-test.txt), curl, node,
# node-aws4, ruby-aws-sdk-s3, golang-go and golang-github-aws-aws-sdk-go-v2-dev (scripts/apt-packages.txt).
set -euo pipefail
cd "$(dirname "$0")/../.."

SIGV4=${1:-.build/debug/sigv4}
if [[ ! -x "$SIGV4" ]]; then
    swift build --product sigv4 >/dev/null
fi
SIGV4=$(realpath "$SIGV4")

work=$(mktemp -d)
pids=()
cleanup() {
    local status=$?
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    if [[ $status != 0 ]]; then
        for log in "$work"/*.log; do
            [[ -e "$log" ]] || continue
            echo "---- $(basename "$log") (last 30 lines)" >&2
            tail -30 "$log" >&2
        done
    fi
    rm -rf "$work"
    exit $status
}
trap cleanup EXIT INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_port() {
    for _ in $(seq 1 150); do
        (echo >"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    echo "nothing listens on 127.0.0.1:$1" >&2
    return 1
}
json_field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

region=us-east-1
principal=interop
ks="$work/keys.db"
export SIGV4_KEYSTORE="$ks"

echo "== key store"
"$SIGV4" keys init --keystore "$ks" >/dev/null
good=$("$SIGV4" keys create --keystore "$ks" --principal "$principal" --format json)
revoked=$("$SIGV4" keys create --keystore "$ks" --principal interop-revoked --format json)
"$SIGV4" keys deactivate --keystore "$ks" "$(json_field access_key_id <<<"$revoked")" >/dev/null
retiring=$("$SIGV4" keys create --keystore "$ks" --principal interop-retiring --format json)
"$SIGV4" keys retire --keystore "$ks" "$(json_field access_key_id <<<"$retiring")" --in 1 >/dev/null
scoped=$("$SIGV4" keys create --keystore "$ks" --principal interop-scoped --service sqs --format json)
# Limited to one folder of the bucket: used at the bucket's virtual host, where the prefix is the path-style path.
bucket_scoped=$("$SIGV4" keys create --keystore "$ks" --principal interop-bucket-scoped \
    --path-prefix /interop-bucket/vhost/scoped/ --format json)
sleep 1.5 # the retiring key's time passes

echo "== moto (upstream), gateway, its TLS twin, echo gateway"
moto_port=$(free_port)
MOTO_ENABLE_RECORDING=True MOTO_RECORDER_FILEPATH="$work/upstream-recording.jsonl" \
    moto_server -H 127.0.0.1 -p "$moto_port" >"$work/moto.log" 2>&1 &
pids+=($!)
gw_port=$(free_port)
# The gateway signs forwarded requests again for moto (which treats unsigned requests as anonymous).
SIGV4_UPSTREAM_SECRET_ACCESS_KEY=upstream-secret \
    "$SIGV4" serve --listen "127.0.0.1:$gw_port" --keystore "$ks" --upstream "http://127.0.0.1:$moto_port" \
    --upstream-access-key-id upstream --region "$region" --service s3 --virtual-host-domain s3.localhost \
    >"$work/gateway.log" 2>&1 &
pids+=($!)
echo_port=$(free_port)
"$SIGV4" serve --listen "127.0.0.1:$echo_port" --keystore "$ks" --region "$region" >"$work/echo.log" 2>&1 &
pids+=($!)
# The same gateway terminating TLS itself (--tls-certificate), with a throw-away certificate for
# 127.0.0.1: botocore sends aws-chunked trailing checksums only over HTTPS. Until 2026-12-04 a
# byte-transparent TLS proxy (tls_proxy.py) stood in front of the plain gateway instead.
INTEROP_TLS_PROXY=${INTEROP_TLS_PROXY:-0}
if [[ "$INTEROP_TLS_PROXY" == 1 ]]; then
    python3 scripts/interop/tls_proxy.py --target-port "$gw_port" --cert-dir "$work" --port-file "$work/tls.port" \
        >"$work/tls.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 1 100); do [[ -s "$work/tls.port" ]] && break; sleep 0.1; done
    tls_port=$(cat "$work/tls.port")
else
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/key.pem" \
        -out "$work/cert.pem" -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -days 2 2>/dev/null
    tls_port=$(free_port)
    SIGV4_UPSTREAM_SECRET_ACCESS_KEY=upstream-secret \
        "$SIGV4" serve --listen "127.0.0.1:$tls_port" --keystore "$ks" --upstream "http://127.0.0.1:$moto_port" \
        --upstream-access-key-id upstream --region "$region" --service s3 --virtual-host-domain s3.localhost \
        --tls-certificate "$work/cert.pem" --tls-key "$work/key.pem" >"$work/gateway-tls.log" 2>&1 &
    pids+=($!)
fi
wait_port "$moto_port"
wait_port "$gw_port"
wait_port "$echo_port"
wait_port "$tls_port"

python3 - "$work" <<EOF
import json, sys
work = sys.argv[1]
good = json.loads('''$good''')
cfg = {
    "gateway": "http://127.0.0.1:$gw_port",
    "gateway_tls": "https://127.0.0.1:$tls_port",
    # The gateway's --virtual-host-domain: bucket.s3.localhost:<port> addresses a bucket.
    "gateway_virtual_host": "s3.localhost:$gw_port",
    "ca_bundle": work + "/cert.pem",
    "echo": "http://127.0.0.1:$echo_port",
    "upstream": "http://127.0.0.1:$moto_port",
    "recording": work + "/upstream-recording.jsonl",
    "region": "$region",
    "principal": "$principal",
    "sigv4": "$SIGV4",
    "workdir": work,
    "keys": {
        "good": good,
        "wrong_secret": {"access_key_id": good["access_key_id"], "secret_access_key": "x" * 40},
        "revoked": json.loads('''$revoked'''),
        "retiring": json.loads('''$retiring'''),
        "scoped": json.loads('''$scoped'''),
        "bucket_scoped": json.loads('''$bucket_scoped'''),
    },
    # The AWS code each refusal carries where more than one would be defensible.
    "codes": {"retiring": "AccessDenied", "tampered_chunked": "BadDigest"},
}
json.dump(cfg, open(work + "/config.json", "w"))
EOF

echo "== clients"
python3 scripts/interop/clients.py "$work/config.json"
