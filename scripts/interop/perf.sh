#!/usr/bin/env bash
# Gateway overhead: wrk against `sigv4 serve` in echo mode, the same presigned GET, with
# verification (replay protection off) and with authentication disabled (hidden --dev-no-auth),
# alternated in one run. Prints a Markdown table for Docs/Performance.md: requests/s, p99, the
# throughput cost, each server's CPU time per request (from /proc, steadier than throughput on
# a machine shared with other work, since wrk and other jobs take their share of the cores) and the
# CPU cost computed from it (1 - no-auth CPU / verified CPU per request), which stays meaningful
# when the machine's load makes wrk, not the gateways, the limit.
#
# Usage: scripts/interop/perf.sh [path/to/sigv4] [seconds-per-run] [rounds]
#        (default: .build/release/sigv4, built if missing; 10 s; 3 rounds)
#        SERVER_CPUS / WRK_CPUS: CPU lists (as taskset -c takes them) for both gateways and for wrk.
#        By default, on a machine with two or more CPUs, the gateways run on CPU 0 and wrk on CPU 1:
#        each gateway is then CPU-bound and wrk does not take its core, and the rounds agree to a
#        point or two (unpinned they scattered from -16% to +20% on the shared 2-core machine).
#        SERVER_CPUS= WRK_CPUS= (set and empty) runs unpinned.
#        AUTH=header scripts/interop/perf.sh ...   sends one header-signed GET (Authorization,
#        X-Amz-Date, X-Amz-Content-SHA256; signed once at the start, the same bytes every time, which
#        is why replay protection is off) instead of the presigned URL (AUTH=presigned, the default).
# Needs: wrk (scripts/apt-packages.txt), python3 with botocore.
set -euo pipefail
cd "$(dirname "$0")/../.."

SIGV4=${1:-.build/release/sigv4}
SECONDS_PER_RUN=${2:-10}
ROUNDS=${3:-3}
if [[ ! -x "$SIGV4" ]]; then
    swift build -c release --product sigv4 >/dev/null
fi
SIGV4=$(realpath "$SIGV4")
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }
server_pin=()
wrk_pin=()
if [[ $(nproc) -ge 2 ]] && command -v taskset >/dev/null; then
    SERVER_CPUS=${SERVER_CPUS-0}
    WRK_CPUS=${WRK_CPUS-1}
fi
[[ -n "${SERVER_CPUS:-}" ]] && server_pin=(taskset -c "$SERVER_CPUS")
[[ -n "${WRK_CPUS:-}" ]] && wrk_pin=(taskset -c "$WRK_CPUS")

work=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT INT TERM
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_port() {
    for _ in $(seq 1 150); do (echo >"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done
    return 1
}

ks="$work/keys.db"
"$SIGV4" keys init --keystore "$ks" >/dev/null
key=$("$SIGV4" keys create --keystore "$ks" --principal bench --format json)

auth_port=$(free_port)
"${server_pin[@]}" "$SIGV4" serve --listen "127.0.0.1:$auth_port" --keystore "$ks" --replay-protection off --log-level error \
    >"$work/auth.log" 2>&1 &
pids+=($!)
auth_pid=$!
noauth_port=$(free_port)
"${server_pin[@]}" "$SIGV4" serve --listen "127.0.0.1:$noauth_port" --keystore "$ks" --dev-no-auth --log-level error \
    >"$work/noauth.log" 2>&1 &
pids+=($!)
noauth_pid=$!
wait_port "$auth_port"
wait_port "$noauth_port"

# One signed GET (a presigned URL valid for an hour, or header auth signed now), sent unchanged
# to both gateways. The helper prints the target, then one header line per field to send.
AUTH=${AUTH:-presigned}
[[ "$AUTH" == presigned || "$AUTH" == header ]] || { echo "AUTH must be presigned or header" >&2; exit 2; }
python3 scripts/interop/bench_request.py "$key" "$auth_port" "$AUTH" >"$work/request"
target=$(head -n 1 "$work/request")
headers=(-H "Host: 127.0.0.1:$auth_port")
curl_headers=()
while IFS= read -r line; do
    headers+=(-H "$line")
    curl_headers+=(-H "$line")
done < <(tail -n +2 "$work/request")
status=$(curl -s -o /dev/null -w '%{http_code}' "${curl_headers[@]}" "http://127.0.0.1:$auth_port$target")
[[ "$status" == 200 ]] || { echo "the presigned request was refused ($status)" >&2; cat "$work/auth.log" >&2; exit 1; }

# CPU time (user + system, clock ticks) the server process PID has used.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

run() { # port pid -> "req/s p99_ms server_cpu_us_per_request"
    local before after
    before=$(cpu_ticks "$2")
    "${wrk_pin[@]}" wrk -t2 -c32 -d"${SECONDS_PER_RUN}s" --latency "${headers[@]}" "http://127.0.0.1:$1$target" \
        >"$work/wrk.out"
    after=$(cpu_ticks "$2")
    python3 - "$work/wrk.out" "$((after - before))" "$(getconf CLK_TCK)" <<'EOF'
import re, sys
text = open(sys.argv[1]).read()
ticks, hz = int(sys.argv[2]), int(sys.argv[3])
requests = int(re.search(r"(\d+) requests in", text).group(1))
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
m = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
p99 = float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]
errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
if errors:
    sys.exit(f"wrk saw {errors.group(1)} non-2xx responses")
print(f"{rps:.0f} {p99:.2f} {ticks / hz / requests * 1e6:.1f}")
EOF
}

echo "auth: $AUTH; load average before: $(cut -d' ' -f1-3 /proc/loadavg); server CPUs: ${SERVER_CPUS:-all}; wrk CPUs: ${WRK_CPUS:-all}"
echo
echo "| round | verified req/s | verified p99 ms | no-auth req/s | no-auth p99 ms | throughput cost | server CPU µs/request (verified / no-auth) | CPU cost |"
echo "|---|---|---|---|---|---|---|---|"
sum_auth=0
sum_noauth=0
cpu_auth=0
cpu_noauth=0
for round in $(seq 1 "$ROUNDS"); do
    read -r a_rps a_p99 a_cpu < <(run "$auth_port" "$auth_pid")
    read -r n_rps n_p99 n_cpu < <(run "$noauth_port" "$noauth_pid")
    cost=$(python3 -c "print(f'{(1 - $a_rps / $n_rps) * 100:.1f}%')")
    cpu_cost=$(python3 -c "print(f'{(1 - $n_cpu / $a_cpu) * 100:.1f}%')")
    echo "| $round | $a_rps | $a_p99 | $n_rps | $n_p99 | $cost | $a_cpu / $n_cpu | $cpu_cost |"
    sum_auth=$((sum_auth + a_rps))
    sum_noauth=$((sum_noauth + n_rps))
    cpu_auth=$(python3 -c "print($cpu_auth + $a_cpu)")
    cpu_noauth=$(python3 -c "print($cpu_noauth + $n_cpu)")
done
echo
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 -c "print(f'mean: verified {$sum_auth / $ROUNDS:.0f} req/s, no-auth {$sum_noauth / $ROUNDS:.0f} req/s, verification costs {(1 - $sum_auth / $sum_noauth) * 100:.1f}% of throughput')"
# The throughput cost holds only while each gateway is CPU-bound (pinned, wrk on its own idle core).
# When other work takes wrk's core, wrk becomes the limit, both gateways idle part of the time and
# the throughput cost shrinks toward zero; the CPU cost (the verified gateway's CPU per request over
# the no-auth one's) does not depend on who sets the pace, so it is printed beside it.
python3 -c "print(f'mean CPU per request: verified {$cpu_auth / $ROUNDS:.1f} us, no-auth {$cpu_noauth / $ROUNDS:.1f} us, verification costs {(1 - $cpu_noauth / $cpu_auth) * 100:.1f}% of CPU')"
