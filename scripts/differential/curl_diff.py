#!/usr/bin/env python3
"""Random requests signed by curl --aws-sigv4, verified by swift-sigv4's verifier.

curl is one of the real clients pointed at a service that verifies with swift-sigv4 (`sigv4 serve`,
the Hummingbird middleware). This run makes --cases random requests (methods, paths and queries with
reserved, escaped, lowercase-escaped, `+`, `~` and non-ASCII bytes, repeated and valueless query
parameters, dot segments and empty segments (sent as written: `--path-as-is`), user headers with
inner spaces, session tokens, bodies), has the installed curl sign and send
each one to a capture server on 127.0.0.1, and hands the bytes curl sent to the verifier
(`SigV4DiffDriver`, op "verify", at the request's own X-Amz-Date). Every request curl signs must
verify: a refusal is a failure (exit 1), printed with the request. The verifier's reading that
matched (the AWS rule, or one of the documented readings of other signers: Docs/Verifier.md) is
counted, so a change in how curl signs shows up as a change in the counts.

Usage: python3 scripts/differential/curl_diff.py [--cases 300] [--seed 1]
                                                [--driver .build/debug/SigV4DiffDriver] [--json FILE]
       python3 scripts/differential/curl_diff.py --record TestVectors/curl-sigv4/cases.json
       python3 scripts/differential/curl_diff.py --gateway http://127.0.0.1:PORT --access-key-id ID \
                                                --secret-access-key SECRET [--cases 200]

--gateway sends each request to a running `sigv4 serve` in echo mode instead, with that key, and
requires HTTP 200 for every one: the gateway's HTTP server, middleware and verifier as deployed
(scripts/interop/clients.py runs it against the interop echo gateway).

--client awscurl signs with awscurl's own signer instead (exploratory, not in scripts/test: see
Docs/Assurance.md, session 23, for why most of its requests are refused, as AWS refuses them).

--client aws4 signs with node's aws4 (Debian's node-aws4, through scripts/interop/aws4_client.js,
one node process) and sends with node's http module; in scripts/test. A third of its requests are
presigned URLs (signQuery; see Aws4Client.send for how they are made). aws4 rewrites the target
(its own path and query encoding), so what is verified is what it sent. Every request must verify
but those with one of aws4's two S3 deviations (a repeated query parameter: it signs the first
value only; a `+` in the path: it signs a space), which must be refused (`aws4_deviation`).

--record sends the fixed RECORDED requests instead (S3 subresources without a value, unsorted
queries, escapes in non-S3 paths) and writes what curl sent, for the Swift tests
(`CurlSignedRequestTests`), which verify them on machines without curl. With --client aws4 it sends
RECORDED_AWS4 through aws4 instead (TestVectors/aws4-node/cases.json, `Aws4SignedRequestTests`).
"""
import argparse
import base64
import collections
import hashlib
import http.server
import json
import os
import random
import socketserver
import subprocess
import sys
import threading

AKID = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
REGION = "us-east-1"

# Path and query pieces: unreserved runs, reserved bytes curl sends as they are, escapes in both
# cases, `+`, and UTF-8 sent percent-encoded.
PIECES = [
    "a", "Z", "09", "-_.~", "photos", "%20", "%2F", "%2f", "%7E", "%7e", "%41", "+", "!", "$", "'", "(", ")",
    "*", ",", ";", ":", "@", "%C3%A9", "%E2%82%AC", "%25", "%3D", "%26", "%3d", "%2B", "%2b",
]


def piece(rng, n):
    return "".join(rng.choice(PIECES) for _ in range(n))


def random_request(rng, i):
    service = rng.choice(["s3", "service"])
    method = rng.choice(["GET", "GET", "PUT", "POST", "DELETE"])
    segments = [piece(rng, rng.randint(1, 3)) if rng.random() < 0.85 else rng.choice([".", "..", "", "%2e"])
                for _ in range(rng.randint(0, 3))]
    path = "/" + "/".join(segments)
    if rng.random() < 0.2:
        path += "/"
    params = []
    for _ in range(rng.choice([0, 0, 1, 2, 3, 5])):
        name = piece(rng, rng.randint(1, 2)).replace("=", "").replace("&", "")
        form = rng.random()
        if form < 0.15:
            params.append(name)  # valueless
        elif form < 0.25:
            params.append(name + "=")  # empty value
        else:
            params.append(name + "=" + piece(rng, rng.randint(0, 3)))
    if params and rng.random() < 0.2:
        params.append(params[0])  # a repeated parameter
    target = path + ("?" + "&".join(params) if params else "")
    headers = []
    for _ in range(rng.randint(0, 3)):
        name = rng.choice(["x-amz-meta-color", "X-Amz-Meta-Size", "x-custom", "Content-Type", "x-amz-meta-note"])
        value = rng.choice(["blue", "a  b", "text/plain", "x,y", "1", "two words here"])
        if any(n.lower() == name.lower() for n, _ in headers):
            continue
        headers.append((name, value))
    body = b""
    if method in ("PUT", "POST") and rng.random() < 0.7:
        body = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 64)))
    token = None
    if rng.random() < 0.2:
        # Temporary credentials: the session token goes as a header the caller adds, signed.
        token = "FQoGZXIvYXdzE" + "".join(rng.choice("abcXYZ019+/=") for _ in range(24))
        headers.append(("x-amz-security-token", token))
    if service == "s3":
        # S3 requires the payload hash header with header auth; curl 7.x does not add it, so its
        # users pass it. Either the body's hash or UNSIGNED-PAYLOAD.
        digest = hashlib.sha256(body).hexdigest() if rng.random() < 0.8 else "UNSIGNED-PAYLOAD"
        headers.append(("x-amz-content-sha256", digest))
    return dict(id=i, service=service, method=method, target=target, headers=headers, body=body, token=token)


class Capture(http.server.BaseHTTPRequestHandler):
    """Records the request exactly as curl sent it (target and header lines as received)."""

    captured = None
    protocol_version = "HTTP/1.1"

    def handle_one(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = []
        for line in self.headers._headers:  # (name, value) pairs in order, as received
            headers.append([line[0], line[1]])
        # The target from the request line as received: `self.path` is rewritten by http.server
        # (a leading `//` collapsed to `/`, against open redirects).
        target = self.requestline.split(" ")[1]
        Capture.captured = dict(method=self.command, target=target, headers=headers, body=body)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_one

    def log_message(self, *args):
        pass


# (service, method, target, headers, body) curl is asked to send for --record.
RECORDED = [
    ("s3", "GET", "/bucket?acl", [], b""),
    ("s3", "POST", "/bucket/key?uploads", [], b""),
    ("s3", "GET", "/bucket?versions&prefix=photos/", [], b""),
    ("s3", "GET", "/bucket?prefix=a&delimiter=%2F&list-type=2", [], b""),
    ("s3", "PUT", "/bucket/a%20b+c.txt?tagging", [("Content-Type", "text/plain")], b"hello"),
    ("service", "GET", "/items/%2B?b=2&a=1", [("x-amz-meta-color", "blue")], b""),
    ("service", "GET", "/a%20b/c?x", [], b""),
    ("service", "POST", "/?z=1&a", [("Content-Type", "application/json")], b'{"k": 1}'),
    ("service", "GET", "/sorted?a=1&b=2", [], b""),
]


# (service, method, target, headers, body) aws4 is asked to sign and send for --record --client aws4:
# S3 keys with escapes (signed decoded and encoded again), aws4's two S3 deviations (refused), and
# a non-S3 JSON call.
RECORDED_AWS4 = [
    ("s3", "PUT", "/bucket/a%7eb%3dc.txt", [("Content-Type", "text/plain")], b"hello"),
    ("s3", "GET", "/bucket/%41%2Fdir/x%20y", [], b""),
    ("s3", "GET", "/bucket/plain/key.txt?prefix=a%2Fb&list-type=2", [], b""),
    ("s3", "GET", "/bucket?tag=1&tag=2", [], b""),
    ("s3", "GET", "/bucket/a+b.txt", [], b""),
    ("service", "POST", "/", [("Content-Type", "application/x-amz-json-1.0"), ("X-Amz-Target", "Svc.Op")],
     b'{"k": "a b"}'),
    ("service", "GET", "/items/%2B/a%20b?x=1", [], b""),
]


def with_s3_hash(service, headers, body):
    if service != "s3":
        return headers
    return headers + [("x-amz-content-sha256", hashlib.sha256(body).hexdigest())]


def record(port, path, client):
    cases = []
    aws4 = Aws4Client() if client == "aws4" else None
    for service, method, target, headers, body in (RECORDED_AWS4 if aws4 else RECORDED):
        Capture.captured = None
        if aws4:
            # aws4 adds x-amz-content-sha256 for S3 itself.
            r = dict(service=service, method=method, target=target, headers=headers, body=body)
            answer = aws4.send(port, r)
            code, err = (1, answer["error"]) if "error" in answer else (0, "")
        else:
            r = dict(service=service, method=method, target=target, headers=with_s3_hash(service, headers, body),
                     body=body)
            code, err = curl_send(port, r)
        if code != 0 or Capture.captured is None:
            raise SystemExit(f"{client} did not send {target}: {err}")
        w = Capture.captured
        case = dict(service=service, method=w["method"], target=w["target"],
                    headers=[h for h in w["headers"] if h[0].lower() not in ("user-agent", "accept", "connection")],
                    body_b64=base64.b64encode(w["body"]).decode())
        if aws4:
            case["aws4_deviation"] = aws4_deviation(service, w["target"])
        cases.append(case)
    if aws4:
        aws4.close()
        doc = dict(access_key_id=AKID, secret_access_key=SECRET, region=REGION, signer=client_version("aws4"),
                   recorded_by="scripts/differential/curl_diff.py --record PATH --client aws4", cases=cases)
        version = doc["signer"]
    else:
        version = subprocess.run(["curl", "--version"], capture_output=True, text=True).stdout.split()[1]
        doc = dict(access_key_id=AKID, secret_access_key=SECRET, region=REGION, curl_version=version,
                   recorded_by="scripts/differential/curl_diff.py --record", cases=cases)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as fh:
        json.dump(doc, fh, indent=1)
        fh.write("\n")
    print(f"recorded {len(cases)} requests sent by {'' if aws4 else 'curl '}{version} into {path}")


def curl_args(base, r, akid=AKID, secret=SECRET):
    args = ["curl", "-sS", "--path-as-is", "-X", r["method"],
            "--aws-sigv4", f"aws:amz:{REGION}:{r['service']}", "--user", f"{akid}:{secret}"]
    for name, value in r["headers"]:
        args += ["-H", f"{name}: {value}"]
    if r["method"] in ("PUT", "POST"):
        args += ["--data-binary", "@-"]
    return args + [f"{base}{r['target']}"]


def curl_send(port, r):
    args = curl_args(f"http://127.0.0.1:{port}", r)
    p = subprocess.run(args[:1] + ["-o", "/dev/null"] + args[1:], input=r["body"], capture_output=True, timeout=30)
    return p.returncode, p.stderr.decode(errors="replace").strip()


def through_gateway(a):
    """--gateway: each request sent by curl (or aws4, --client aws4) to a running `sigv4 serve` in echo mode (no upstream)
    with the key --access-key-id/--secret-access-key; every one must be answered 200. The gateway's
    HTTP server, its middleware and the verifier together, as deployed. Requests identical to an
    earlier one are skipped (sent within the same second they carry the same signature, which the
    replay guard refuses, rightly)."""
    rng = random.Random(a.seed)
    stats = collections.Counter()
    failures = []
    seen = set()
    aws4 = Aws4Client() if a.client == "aws4" else None
    port = int(a.gateway.rstrip("/").rsplit(":", 1)[1])
    for i in range(a.cases):
        r = random_request(rng, i)
        # The gateway's key has no session token: the token header is left out.
        r["headers"] = [(n, v) for n, v in r["headers"] if n != "x-amz-security-token"]
        identity = (r["service"], r["method"], r["target"], tuple(r["headers"]), r["body"])
        if identity in seen:
            stats["skipped (a repeat)"] += 1
            continue
        seen.add(identity)
        stats["cases"] += 1
        if aws4:
            answer = aws4.send(port, r, a.access_key_id, a.secret_access_key)
            if "error" in answer:
                stats["aws4 did not send"] += 1
                failures.append(dict(case=r["id"], target=r["target"], error=answer["error"]))
                continue
            status = str(answer["status"])
            out = base64.b64decode(answer["body_b64"]).decode(errors="replace")
            deviation = aws4_deviation(r["service"], answer["path"])
            sent, p_ok = True, status == "200"
            if deviation:
                # Refused, as the differential expects (see aws4_deviation).
                if status == "403":
                    stats[f"refused, as documented: {deviation}"] += 1
                    continue
                p_ok = False
        else:
            args = curl_args(a.gateway, r, a.access_key_id, a.secret_access_key)
            p = subprocess.run(args[:1] + ["-w", "\n%{http_code}"] + args[1:], input=r["body"], capture_output=True,
                               timeout=30)
            out = p.stdout.decode(errors="replace")
            status = out.rsplit("\n", 1)[-1]
            sent = p.returncode == 0
            p_ok = sent and status == "200"
        if p_ok:
            stats["answered 200"] += 1
        else:
            code = out.split("<Code>", 1)[1].split("<", 1)[0] if "<Code>" in out else f"sent {sent}"
            stats[f"refused: HTTP {status} {code}"] += 1
            failures.append(dict(case=r["id"], service=r["service"], method=r["method"], target=r["target"],
                                 headers=r["headers"], status=status, answer=out[:400]))
    if aws4:
        aws4.close()
    return stats, failures


def client_version(client):
    """The signer's version, for the report."""
    if client == "awscurl":
        from importlib.metadata import version
        return f"awscurl {version('awscurl')}"
    if client == "aws4":
        return "node aws4 " + json.load(open("/usr/share/nodejs/aws4/package.json"))["version"]
    return subprocess.run(["curl", "--version"], capture_output=True, text=True).stdout.split("\n")[0]


def report(a, stats, failures):
    out = dict(stats=dict(sorted(stats.items())), failures=len(failures),
               signer=client_version(a.client))
    print(json.dumps(out, indent=1))
    for f in failures[:20]:
        print("FAILED:", json.dumps(f), file=sys.stderr)
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(dict(out, failure_cases=failures), fh, indent=1)
    if stats["cases"] < a.cases // 2:
        print(f"only {stats['cases']} of {a.cases} requests were sent", file=sys.stderr)
        return 1
    return 1 if failures else 0


def awscurl_send(port, r):
    """awscurl's own signer (not botocore's), called in-process; `requests` sends the request."""
    from awscurl import awscurl
    try:
        awscurl.make_request(
            r["method"], r["service"], REGION, f"http://127.0.0.1:{port}{r['target']}", dict(r["headers"]),
            r["body"], AKID, SECRET, None, True)
    except Exception as e:  # awscurl refused or could not send the URL
        return 1, str(e)
    return 0, ""


class Aws4Client:
    """Node's aws4 (scripts/interop/aws4_client.js, one node process for the run): signs each
    request with aws4 and sends it with node's http module."""

    def __init__(self):
        here = os.path.dirname(os.path.abspath(__file__))
        self.proc = subprocess.Popen(["node", os.path.join(here, "..", "interop", "aws4_client.js")],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)

    def send(self, port, r, akid=AKID, secret=SECRET, presign=False):
        """presign: aws4's signQuery (a presigned URL), used as aws4's users use it: the session token,
        if any, in the query (aws4 puts the credentials' token there), not as a header; no
        x-amz-content-sha256 header (aws4 presigns S3 with UNSIGNED-PAYLOAD even when the request
        carries one, where botocore signs the header's value, which the verifier follows); and
        X-Amz-Expires in the query outside S3 (aws4 sets it only for S3; the verifier requires it)."""
        headers = dict(r["headers"])
        token = None
        target = r["target"]
        if presign:
            token = headers.pop("x-amz-security-token", None)
            headers.pop("x-amz-content-sha256", None)
            if r["service"] != "s3":
                target += ("&" if "?" in target else "?") + "X-Amz-Expires=3600"
        spec = dict(port=port, method=r["method"], path=target, headers=headers,
                    body_b64=base64.b64encode(r["body"]).decode(), service=r["service"], region=REGION,
                    access_key_id=akid, secret_access_key=secret, sign_query=presign, session_token=token)
        self.proc.stdin.write(json.dumps(spec) + "\n")
        return json.loads(self.proc.stdout.readline())

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def aws4_deviation(service, target):
    """Which of node's aws4 1.11's two S3 deviations from the AWS rule this target has, else None
    (Docs/Verifier.md). The verifier refuses both: the first must be refused (accepting it would
    leave a parameter's other values unsigned; AWS refuses it); for the second the verifier keeps
    the AWS rule's literal `+`, as every other signer and the servers behind the gateway read it
    (S3 itself reportedly reads a path's `+` as a space, which is what aws4 signs)."""
    if service != "s3":
        return None
    path, _, query = target.partition("?")
    names = [p.split("=", 1)[0] for p in query.split("&")] if query else []
    if len(names) != len(set(names)):
        return "aws4 signs only the first value of a repeated S3 query parameter"
    if "+" in path:
        return "aws4 signs a + in an S3 path as a space (%20)"
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=300)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--driver", default=".build/debug/SigV4DiffDriver")
    ap.add_argument("--json")
    ap.add_argument("--record")
    ap.add_argument("--client", choices=["curl", "awscurl", "aws4"], default="curl",
                    help="the signer: curl --aws-sigv4 (default), awscurl's make_request or node's aws4")
    ap.add_argument("--gateway", help="send to this echo-mode `sigv4 serve` instead (http://127.0.0.1:PORT)")
    ap.add_argument("--access-key-id", default=AKID)
    ap.add_argument("--secret-access-key", default=SECRET)
    a = ap.parse_args()
    if a.gateway:
        return report(a, *through_gateway(a))

    server = socketserver.TCPServer(("127.0.0.1", 0), Capture)
    port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    if a.record:
        record(port, a.record, a.client)
        server.shutdown()
        return 0
    driver = subprocess.Popen([a.driver], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)

    rng = random.Random(a.seed)
    stats = collections.Counter()
    failures = []
    aws4 = Aws4Client() if a.client == "aws4" else None
    presign_rng = random.Random(a.seed + 1_000_000)
    for i in range(a.cases):
        r = random_request(rng, i)
        Capture.captured = None
        presign = False
        if aws4:
            # A third of aws4's requests are presigned URLs (its signQuery), drawn from their own
            # generator so the requests themselves stay those of the other clients' runs.
            presign = presign_rng.random() < 0.3
            answer = aws4.send(port, r, presign=presign)
            code, err = (1, answer["error"]) if "error" in answer else (0, "")
        else:
            code, err = (awscurl_send if a.client == "awscurl" else curl_send)(port, r)
        if code != 0 or Capture.captured is None:
            # The client refused the URL itself (it did not send it): nothing signed, nothing to verify.
            stats[f"{a.client} did not send (exit {code})"] += 1
            continue
        wire = Capture.captured
        amz = {n.lower(): v for n, v in wire["headers"]}
        signed_at = amz.get("x-amz-date", "")
        if presign:
            query = wire["target"].split("?", 1)[1] if "?" in wire["target"] else ""
            stamps = [p.split("=", 1)[1] for p in query.split("&") if p.startswith("X-Amz-Date=")]
            if "X-Amz-Signature=" not in query or not stamps:
                failures.append(dict(case=r["id"], why="aws4 sent no presigned URL", wire=wire["target"]))
                continue
            signed_at = stamps[0]
            stats["presigned (aws4 signQuery)"] += 1
        elif "authorization" not in amz:
            failures.append(dict(case=r["id"], why="curl sent no Authorization", wire=wire["target"]))
            continue
        msg = dict(op="verify", method=wire["method"], target=wire["target"], headers=wire["headers"],
                   body_b64=base64.b64encode(wire["body"]).decode(), access_key_id=AKID,
                   secret_access_key=SECRET, session_token=r.get("token"), now=signed_at)
        driver.stdin.write(json.dumps(msg) + "\n")
        out = json.loads(driver.stdout.readline())
        stats["cases"] += 1
        stats[f"service={r['service']}"] += 1
        deviation = aws4_deviation(r["service"], wire["target"]) if aws4 else None
        if deviation:
            if out.get("ok"):
                stats["verified though signed off the AWS rule"] += 1
                failures.append(dict(case=r["id"], why=f"verified, but {deviation}", target=wire["target"]))
            else:
                stats[f"refused ({out.get('code')}), as documented: {deviation}"] += 1
        elif out.get("ok"):
            stats[f"verified: {out.get('canonical_form', '?')} (plus {out.get('plus_policy', '?')})"] += 1
        else:
            stats[f"refused: {out.get('code')}"] += 1
            failures.append(dict(case=r["id"], method=wire["method"], target=wire["target"],
                                 headers=wire["headers"], code=out.get("code"), message=out.get("message")))
    driver.stdin.close()
    driver.wait(timeout=30)
    if aws4:
        aws4.close()
    server.shutdown()

    return report(a, stats, failures)


if __name__ == "__main__":
    sys.exit(main())
