#!/usr/bin/env bash
# The gateway's instructions per request, counted by valgrind's callgrind: `sigv4 serve` in echo
# mode with verification (replay protection off) and with authentication disabled (hidden
# --dev-no-auth), the same signed GET as scripts/interop/perf.sh, and the difference between the
# two: what verifying one request executes. Deterministic where perf.sh's CPU time is not: on a
# shared machine (or a VM without hardware counters, where `perf stat -e instructions` is refused)
# its microseconds per request move with the host's load and the day; these counts do not.
#
# Usage: scripts/interop/instructions.sh [--functions] [--top N] [path/to/sigv4]
#        (default: .build/release/sigv4, built if missing; nothing is built when a path is given)
#        AUTH=presigned (default) or AUTH=header, as in perf.sh: one presigned URL, or one header-signed
#        GET (Authorization, X-Amz-Date, X-Amz-Content-SHA256) signed with botocore.
#        REQUESTS=N (default 1000): each gateway is started under `valgrind --tool=callgrind` twice,
#        once answering N requests and once 2N, all over one keep-alive connection from a small
#        python3 http.client loop; (count(2N) - count(N)) / N is the count per request, free of the
#        start-up, the key store's opening, the connection's set-up and the shutdown.
#        KEEP_OUT=DIR keeps the callgrind output files (MODE.a.out for N requests, MODE.b.out for 2N, of
#        the last round) in DIR, for `callgrind_annotate --tree=caller` on a function's callers.
#        REPEAT=2 runs it all twice and prints both, to see whether the counts repeat. They do not
#        quite: work driven by the clock rather than by requests (the Date header's formatting, the
#        key store's last-use writes) is spread over however many requests a second the loaded host
#        let through. Session 58, presigned, N=500 then N=1000 on a loaded host: no-auth 211,122 and
#        212,992 (0.9% apart), verified 248,676 and 260,702 (4.8% apart). Compare builds in the same
#        conditions, and read the libraries' and functions' rows (--functions), not only the total.
#        --functions also prints the functions whose own instructions (callgrind_annotate's self counts,
#        callees not counted) grow most per request in the verified gateway over the unauthenticated one:
#        where verification's instructions go. Compare two builds by running it on each binary.
#
# Instructions are not time (see scripts/instructions): valgrind's simulated CPU has no SHA-NI, so
# libcrypto's SHA-256 and HMAC count for far more than they cost natively, and an atomic or a cache
# miss counts as one instruction. Use it to tell a change of code (the counts move) from a change of
# host (perf.sh's times move, the counts do not). Each run takes tens of seconds (valgrind runs the
# gateway about 50 times slower); it is a developer tool, not part of scripts/test.
# Needs: valgrind and objcopy (binutils), a C compiler (cc), python3 with botocore.
set -euo pipefail
cd "$(dirname "$0")/../.."

functions=0
top=25
SIGV4=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --functions) functions=1 ;;
        --top) top=${2:?--top needs a number}; shift ;;
        -h|--help) sed -n '2,32p' "$0"; exit 0 ;;
        -*) echo "unknown option $1" >&2; exit 2 ;;
        *) SIGV4=$1 ;;
    esac
    shift
done
if [[ -z "$SIGV4" ]]; then
    SIGV4=.build/release/sigv4
    [[ -x "$SIGV4" ]] || swift build -c release --product sigv4 >/dev/null
fi
SIGV4=$(realpath "$SIGV4")
AUTH=${AUTH:-presigned}
[[ "$AUTH" == presigned || "$AUTH" == header ]] || { echo "AUTH must be presigned or header" >&2; exit 2; }
REQUESTS=${REQUESTS:-1000}
REPEAT=${REPEAT:-1}
command -v valgrind >/dev/null || { echo "valgrind is not installed (apt-get install valgrind)" >&2; exit 1; }

work=$(mktemp -d)
server_pid=""
cleanup() {
    if [[ -n "$server_pid" ]]; then kill -TERM "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
    if [[ -n "${KEEP_OUT:-}" ]]; then mkdir -p "$KEEP_OUT" && cp "$work"/*.out "$KEEP_OUT"/ 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT INT TERM
# valgrind 3.19 gives up on the Swift compiler's DWARF 5 ("Possibly corrupted debuginfo file"): run a
# copy without the debug sections (functions are named from the symbol table), as scripts/instructions.
bin="$work/sigv4"
objcopy --strip-debug "$SIGV4" "$bin"
# valgrind 3.19's rt_sigsuspend wrapper writes into the caller's signal mask, and libdispatch (where the
# gateway's main thread parks, in sigsuspend) passes one in read-only memory: valgrind dies of a SIGSEGV
# of its own ("the 'impossible' happened") before the gateway listens. A preloaded sigsuspend that
# hands the kernel a writable copy of the mask works around it; it changes nothing per request.
cat >"$work/sigsuspend.c" <<'C'
#define _GNU_SOURCE
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>
int sigsuspend(const sigset_t *mask) {
    sigset_t copy = *mask;
    return (int)syscall(SYS_rt_sigsuspend, &copy, (size_t)8);
}
C
cc -O2 -shared -fPIC -o "$work/sigsuspend.so" "$work/sigsuspend.c"

ks="$work/keys.db"
"$bin" keys init --keystore "$ks" >/dev/null
key=$("$bin" keys create --keystore "$ks" --principal bench --format json)

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# client PORT COUNT: signs one GET for 127.0.0.1:PORT as perf.sh does (bench_request.py: botocore, presigned or header
# auth) and sends it COUNT times over one keep-alive connection; fails unless each answer is a 200.
client() {
    python3 - "$key" "$1" "$AUTH" "$2" <<'EOF'
import http.client, json, sys, time
sys.path.insert(0, "scripts/interop")
from bench_request import signed_request
key, port, mode, count = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
target, fields = signed_request(key, port, mode)
headers = {"Host": f"127.0.0.1:{port}", **fields}
deadline = time.time() + 120
while True:  # the gateway under valgrind takes a while to listen
    try:
        conn = http.client.HTTPConnection("127.0.0.1", int(port), timeout=120)
        conn.connect()
        break
    except OSError:
        if time.time() > deadline:
            sys.exit("the gateway did not listen")
        time.sleep(0.2)
for i in range(count):
    conn.request("GET", target, headers=headers)
    resp = conn.getresponse()
    resp.read()
    if resp.status != 200:
        sys.exit(f"request {i}: status {resp.status}")
    if resp.getheader("Connection", "").lower() == "close":
        sys.exit(f"request {i}: the gateway closed the connection")
conn.close()
EOF
}

# run MODE COUNT OUT: one gateway (MODE auth or noauth) under callgrind answering COUNT requests.
run() {
    local port extra=() start
    [[ "$1" == noauth ]] && extra=(--dev-no-auth) || extra=(--replay-protection off)
    port=$(free_port)
    start=$(date +%s)
    LD_PRELOAD="$work/sigsuspend.so" valgrind --tool=callgrind --dump-instr=no --callgrind-out-file="$3" \
        "$bin" serve --listen "127.0.0.1:$port" --keystore "$ks" "${extra[@]}" --log-level error \
        >"$3.log" 2>&1 &
    server_pid=$!
    if ! client "$port" "$2"; then
        cat "$3.log" >&2
        exit 1
    fi
    kill -TERM "$server_pid"
    wait "$server_pid" || { echo "the gateway ($1) exited with $?" >&2; cat "$3.log" >&2; exit 1; }
    server_pid=""
    echo "  callgrind run: $1, $2 requests, $(( $(date +%s) - start )) s" >&2
    callgrind_annotate --inclusive=no --threshold=100 "$3" >"$3.self" 2>/dev/null
}

echo "auth: $AUTH; binary: $SIGV4; $REQUESTS and $((2 * REQUESTS)) requests per gateway"
for round in $(seq 1 "$REPEAT"); do
    for mode in auth noauth; do
        run "$mode" "$REQUESTS" "$work/$mode.a.out"
        run "$mode" "$((2 * REQUESTS))" "$work/$mode.b.out"
    done
    python3 - "$work" "$REQUESTS" "$functions" "$top" "$round" <<'EOF'
import re, subprocess, sys
work, n, functions, top, rnd = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1", int(sys.argv[4]), sys.argv[5]

def total(path):
    for line in open(path):
        if line.startswith("summary:") or line.startswith("totals:"):
            return int(line.split()[1])
    raise SystemExit(f"no total in {path}")

line_re = re.compile(r"^\s*([\d,]+)\s+(?:\(\s*[\d.]+%\)\s+)?\S*?:(.*?)(?:\s+\[(.*)\])?\s*$")
def table(path):
    functions, objects, started = {}, {}, False
    for line in open(path):
        if "file:function" in line:
            started = True
            continue
        m = line_re.match(line) if started else None
        if not m:
            continue
        count, name, obj = int(m.group(1).replace(",", "")), m.group(2), (m.group(3) or "?").rsplit("/", 1)[-1]
        name = re.sub(r"'\d+$", "", name)
        if re.fullmatch(r"0x[0-9a-f]+", name):
            name = f"{name} (no symbol, in {obj})"
        functions[name] = functions.get(name, 0) + count
        objects[obj] = objects.get(obj, 0) + count
    return functions, objects

def per_request(mode):
    return (total(f"{work}/{mode}.b.out") - total(f"{work}/{mode}.a.out")) / n

auth, noauth = per_request("auth"), per_request("noauth")
print(f"round {rnd}: instructions per request: verified {auth:,.0f}, no-auth {noauth:,.0f}, "
      f"verification {auth - noauth:,.0f} ({(auth - noauth) / auth:.1%} of the verified gateway's)")
if not functions:
    raise SystemExit(0)

def grow(mode, which):
    a, b = table(f"{work}/{mode}.a.out.self")[which], table(f"{work}/{mode}.b.out.self")[which]
    return {k: (b.get(k, 0) - a.get(k, 0)) / n for k in set(a) | set(b)}

def demangle(names):
    out = subprocess.run(["swift", "demangle", "--simplified", "--compact"], input="\n".join(names),
                         capture_output=True, text=True).stdout.splitlines()
    return out if len(out) == len(names) else names

for which, label in ((1, "library"), (0, "function")):
    ga, gn = grow("auth", which), grow("noauth", which)
    diff = sorted(((ga.get(k, 0) - gn.get(k, 0), ga.get(k, 0), gn.get(k, 0), k) for k in set(ga) | set(gn)),
                  reverse=True)
    rows = [d for d in diff if abs(d[0]) >= 1]
    if which == 0:
        rows = rows[:top]
    print(f"  per request, by {label} (self counts): verified - no-auth = difference")
    names = demangle([r[3] for r in rows]) if which == 0 else [r[3] for r in rows]
    for (d, a, b, _), name in zip(rows, names):
        print(f"    {d:10,.0f}  {a:10,.0f} {b:10,.0f}  {name[:150]}")
EOF
done
