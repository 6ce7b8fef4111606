#!/usr/bin/env python3
"""Differential run: swift-sigv4 against botocore, awscrt (aws-c-auth), the AWS SDK for Go v2 and Ruby's aws-sigv4 on random requests.

Hypothesis generates requests (S3 and non-S3, header and query mode, unicode and reserved
characters, dot segments, '//', repeated and valueless query keys, pre-encoded values, header
whitespace and duplicates, ports, session tokens, bodies). Each request is signed by botocore
and by awscrt; swift-sigv4 signs the same wire bytes through the `SigV4DiffDriver` executable
(one long-lived process, JSON lines). The run checks:

  * wherever botocore and awscrt produce the same signature, ours is the same;
  * where they disagree, it records which of them we match, by category;
  * that our verifier accepts every request botocore or awscrt signed with the signature we compute, and
    every request we signed (at the signing time); other verdicts on the peers' requests are counted
    (--no-verify skips this);
  * with the Go SDK v2's signer (--go, scripts/differential/go-signer) and Ruby's aws-sigv4 (--ruby,
    scripts/differential/ruby-signer; each on when installed): where it, botocore and awscrt agree,
    ours is the same, and our verifier accepts every request it signs, as that SDK sends it (the Go
    SDK's own query encoding; paths neither normalizes: reading 8). Requests a peer cannot sign (Ruby's
    URI refuses non-ASCII; its query sort raises on some repeated names) are counted.

Usage:
  python3 scripts/differential/hypothesis_diff.py --cases 2000 [--seed 1] [--driver PATH] [--report FILE]
                                                 [--go auto|require|off] [--ruby auto|require|off]
  python3 scripts/differential/hypothesis_diff.py --record-go TestVectors/go-sdk-v2/cases.json

Exit status 1 when any agreed case differs from ours, the verifier rejects a request signed as we sign,
or it rejects a request the Go SDK or Ruby's aws-sigv4 signed.
"""
import argparse
import base64
import collections
import datetime
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys

import botocore.auth
import botocore.awsrequest
import botocore.credentials
from awscrt import auth as crt_auth
from awscrt import http as crt_http
from hypothesis import HealthCheck, given, settings, seed as hyp_seed
from hypothesis import strategies as st

UNRESERVED = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
PATH_EXTRA = list("$&,:;=@!*'()+") + ["%20", "%2F", "%3A", "%E1%88%B4", "ሴ", "é", "日本", " "]
QUERY_EXTRA = ["%20", "%2F", "%3D", "%26", "%E6%97%A5", "%2B", "~", "-", "_", ".", "+", "%2b", "%7e"]
SERVICES_S3 = ["s3"]
SERVICES_OTHER = ["service", "execute-api", "dynamodb", "lambda", "sts"]
REGIONS = ["us-east-1", "eu-west-1", "ap-northeast-1", "us-west-2"]


def word(draw, alphabet=UNRESERVED, lo=1, hi=8):
    return draw(st.text(alphabet=alphabet, min_size=lo, max_size=hi))


@st.composite
def requests(draw):
    mode = draw(st.sampled_from(["header", "query"]))
    s3 = draw(st.booleans())
    service = draw(st.sampled_from(SERVICES_S3 if s3 else SERVICES_OTHER))
    region = draw(st.sampled_from(REGIONS))
    method = draw(st.sampled_from(["GET", "PUT", "POST", "DELETE", "HEAD"]))
    host = word(draw, "abcdefghijklmnopqrstuvwxyz0123456789-", 1, 12) + ".example.com"
    port = draw(st.sampled_from([None, None, None, 8080, 9000]))
    authority = host if port is None else f"{host}:{port}"
    segs = []
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.integers(0, 9))
        if kind == 0 and not s3:
            segs.append(draw(st.sampled_from([".", "..", ""])))
        elif kind <= 2:
            segs.append(word(draw) + draw(st.sampled_from(PATH_EXTRA)) + word(draw))
        else:
            segs.append(word(draw))
    path = "/" + "/".join(segs)
    if draw(st.booleans()) and not path.endswith("/"):
        path += "/"
    if path.endswith(" "):
        path += "x"
    pairs = []
    keys = []
    for _ in range(draw(st.integers(0, 5))):
        if keys and mode == "header" and draw(st.integers(0, 5)) == 0:
            key = draw(st.sampled_from(keys))  # repeated key
        else:
            key = word(draw) + (draw(st.sampled_from(QUERY_EXTRA)) if draw(st.booleans()) else "")
            if key.lower().startswith("x-amz-") or key in keys:
                key = "k" + key + str(len(keys))
        keys.append(key)
        form = draw(st.integers(0, 9))
        if form == 0 and mode == "header":
            pairs.append(key)
        elif form == 1:
            pairs.append(key + "=")
        else:
            pairs.append(key + "=" + word(draw, UNRESERVED, 0, 8)
                         + (draw(st.sampled_from(QUERY_EXTRA)) if draw(st.booleans()) else ""))
    query = "&".join(pairs)
    headers = []
    for _ in range(draw(st.integers(0, 4))):
        name = draw(st.sampled_from(["X-Custom", "x-amz-meta-a", "Content-Type", "My-Header", "x-amz-meta-B"]))
        value = (draw(st.sampled_from(["", " ", "  ", "\t"])) + word(draw, UNRESERVED + " ", 1, 10)
                 + draw(st.sampled_from(["", " ", "  "])) + word(draw, UNRESERVED, 0, 4))
        headers.append([name, value])
    token = draw(st.one_of(st.none(), st.text(alphabet=UNRESERVED + "+/=", min_size=8, max_size=40)))
    body = draw(st.binary(max_size=64)) if mode == "header" else b""
    ts = datetime.datetime(2015, 1, 1, tzinfo=datetime.timezone.utc) + datetime.timedelta(
        seconds=draw(st.integers(0, 15 * 365 * 86400)))
    secret = word(draw, UNRESERVED + "+/", 40, 40)
    akid = "AKIA" + word(draw, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16, 16)
    expires = draw(st.integers(1, 604800))
    return dict(mode=mode, s3=s3, service=service, region=region, method=method, authority=authority,
                path=path, query=query, headers=headers, token=token, body=body, ts=ts, secret=secret,
                akid=akid, expires=expires)


# ---------------------------------------------------------------------------------------- peers

def target_of(r):
    return r["path"] + ("?" + r["query"] if r["query"] else "")


def botocore_sign(r):
    botocore.auth.get_current_datetime = lambda remove_tzinfo=True: (
        r["ts"].replace(tzinfo=None) if remove_tzinfo else r["ts"])
    creds = botocore.credentials.Credentials(r["akid"], r["secret"], r["token"])
    req = botocore.awsrequest.AWSRequest(method=r["method"], url=f"https://{r['authority']}{target_of(r)}",
                                         data=r["body"])
    for n, v in r["headers"]:
        req.headers[n] = v
    if r["mode"] == "query":
        cls = botocore.auth.S3SigV4QueryAuth if r["s3"] else botocore.auth.SigV4QueryAuth
        signer = cls(creds, r["service"], r["region"], expires=r["expires"])
    else:
        cls = botocore.auth.S3SigV4Auth if r["s3"] else botocore.auth.SigV4Auth
        signer = cls(creds, r["service"], r["region"])
    captured = {}
    orig = signer.canonical_request
    signer.canonical_request = lambda req_: captured.setdefault("cr", orig(req_))
    signer.add_auth(req)
    prepared = req.prepare()
    url = prepared.url
    rest = url.split("://", 1)[1]
    target = rest[rest.index("/"):] if "/" in rest else "/"
    # The request's own headers (repeated names kept; prepare() folds them into a dict).
    wire = dict(method=r["method"], target=target, headers=with_host(r, list(req.headers.items())))
    if r["mode"] == "query":
        sig = target.rsplit("X-Amz-Signature=", 1)[1]
        op = target.split("?", 1)[1] if "?" in target else ""
        op = op.split("X-Amz-Algorithm=", 1)[0].rstrip("&")
        return dict(signature=sig, canonical_request=captured["cr"], input_query=op,
                    payload=captured["cr"].rsplit("\n", 1)[1], wire=wire)
    authz = prepared.headers["Authorization"]
    return dict(signature=authz.rsplit("Signature=", 1)[1], canonical_request=captured["cr"],
                payload=captured["cr"].rsplit("\n", 1)[1], wire=wire)


def with_host(r, headers):
    """The headers as sent on the wire: the HTTP client adds Host when the signer did not."""
    if not any(n.lower() == "host" for n, _ in headers):
        headers = [("Host", r["authority"])] + headers
    return [[n, v] for n, v in headers]


def awscrt_sign(r, query, payload):
    creds = crt_auth.AwsCredentialsProvider.new_static(r["akid"], r["secret"], r["token"])
    cfg = crt_auth.AwsSigningConfig(
        algorithm=crt_auth.AwsSigningAlgorithm.V4,
        signature_type=(crt_auth.AwsSignatureType.HTTP_REQUEST_QUERY_PARAMS if r["mode"] == "query"
                        else crt_auth.AwsSignatureType.HTTP_REQUEST_HEADERS),
        credentials_provider=creds, region=r["region"], service=r["service"], date=r["ts"],
        use_double_uri_encode=not r["s3"], should_normalize_uri_path=not r["s3"],
        signed_body_value=payload,
        signed_body_header_type=(crt_auth.AwsSignedBodyHeaderType.X_AMZ_CONTENT_SHA_256
                                 if (r["s3"] and r["mode"] == "header") else crt_auth.AwsSignedBodyHeaderType.NONE),
        expiration_in_seconds=r["expires"] if r["mode"] == "query" else None)
    hdrs = crt_http.HttpHeaders([("Host", r["authority"])] + [(n, v) for n, v in r["headers"]])
    target = r["path"] + ("?" + query if query else "")
    req = crt_http.HttpRequest(r["method"], target, hdrs)
    signed = crt_auth.aws_sign_request(req, cfg).result()
    wire = dict(method=r["method"], target=signed.path, headers=with_host(r, list(signed.headers)))
    if r["mode"] == "query":
        return dict(signature=signed.path.rsplit("X-Amz-Signature=", 1)[1], target=signed.path, wire=wire)
    authz = dict((k.lower(), v) for k, v in signed.headers)["authorization"]
    return dict(signature=authz.rsplit("Signature=", 1)[1], wire=wire)


class PeerProcess:
    """A signer in another runtime, one process, JSON lines: the request in, its signature, canonical
    request and the request as that SDK sends it ("wire") out."""

    def __init__(self, name, command):
        self.name = name
        self.p = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)

    def sign(self, r, query, payload):
        msg = dict(mode=r["mode"], method=r["method"], authority=r["authority"],
                   target=r["path"] + ("?" + query if query else ""), headers=r["headers"], payload_hash=payload,
                   region=r["region"], service=r["service"], s3=r["s3"], timestamp=r["ts"].strftime("%Y%m%dT%H%M%SZ"),
                   access_key_id=r["akid"], secret_access_key=r["secret"], session_token=r["token"],
                   expires=r["expires"], body_b64=base64.b64encode(r["body"]).decode())
        self.p.stdin.write(json.dumps(msg) + "\n")
        return json.loads(self.p.stdout.readline())

    def close(self):
        self.p.stdin.close()
        self.p.wait(timeout=30)


class GoSigner(PeerProcess):
    """The AWS SDK for Go v2's signer (scripts/differential/go-signer, built offline in GOPATH mode
    against Debian's golang-github-aws-aws-sdk-go-v2-dev)."""

    SDK = "/usr/share/gocode/src/github.com/aws/aws-sdk-go-v2/aws/signer/v4"

    @staticmethod
    def available():
        return os.path.isdir(GoSigner.SDK) and shutil.which("go") is not None

    def __init__(self):
        here = os.path.dirname(os.path.abspath(__file__))
        out = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"sigv4-go-diff-signer-{os.getuid()}")
        env = dict(os.environ, GO111MODULE="off", GOPATH="/usr/share/gocode", GOFLAGS="",
                   GOCACHE=out + "-cache")
        subprocess.run(["go", "build", "-o", out, "."], cwd=os.path.join(here, "go-signer"), env=env, check=True)
        metadata = os.path.join(GoSigner.SDK, "..", "..", "go_module_metadata.go")
        self.version = open(metadata).read().split('"')[-2] if os.path.exists(metadata) else "?"
        super().__init__("go", [out])


class RubySigner(PeerProcess):
    """Ruby's aws-sigv4, the AWS SDK for Ruby's signer (scripts/differential/ruby-signer, Debian's
    ruby-aws-sigv4)."""

    @staticmethod
    def available():
        return shutil.which("ruby") is not None and subprocess.run(
            ["ruby", "-e", "require 'aws-sigv4'"], capture_output=True).returncode == 0

    def __init__(self):
        here = os.path.dirname(os.path.abspath(__file__))
        super().__init__("ruby", ["ruby", os.path.join(here, "ruby-signer", "signer.rb")])


# Requests the Go SDK v2 signs for --record-go (TestVectors/go-sdk-v2/cases.json, GoSDKSignedRequestTests),
# each with the verifier reading it must match: (mode, service, method, path, query, headers, expected form).
RECORDED_GO = [
    # A byte the rule encodes (`@`, `,`, `*`) besides the dot segments: the raw path (reading 5) differs.
    ("header", "execute-api", "GET", "/prod/a@x/./b//c/../d", "x=1", [], "unnormalizedPath"),
    ("header", "sts", "GET", "/v,w/.", "k=%E6%97%A5&k=9&k=&z=1", [], "unnormalizedPathAndQueryAsSent"),
    ("header", "service", "GET", "/items", "k=%E6%97%A5&k=9&k=", [("X-Custom", "a  b")], "queryAsSent"),
    ("header", "s3", "PUT", "/bucket/a$b,c", "", [("Content-Type", "text/plain")], "verbatimPath"),
    ("header", "service", "POST", "/a%20b/c", "b=2&a=1+2", [], "standard"),
    ("query", "service", "GET", "/x*/../y", "", [], "unnormalizedPath"),
    ("query", "s3", "GET", "/bucket/key.txt", "versionId=3", [], "standard"),
]


def record_go(path):
    go = GoSigner()
    cases = []
    ts = datetime.datetime(2026, 12, 1, 12, 0, 0, tzinfo=datetime.timezone.utc)
    for mode, service, method, p, query, headers, expected in RECORDED_GO:
        r = dict(mode=mode, s3=service == "s3", service=service, region="us-east-1", method=method,
                 authority="example.amazonaws.com", path=p, query=query, headers=[list(h) for h in headers],
                 token=None, body=b"", ts=ts, secret="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                 akid="AKIDEXAMPLE", expires=900)
        payload = ("UNSIGNED-PAYLOAD" if r["s3"] and mode == "query"
                   else "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        g = go.sign(r, query, payload)
        if "error" in g:
            raise SystemExit(f"the Go SDK did not sign {p}?{query}: {g['error']}")
        cases.append(dict(mode=mode, service=service, expected_form=expected, canonical_request=g["canonical_request"],
                          method=g["wire"]["method"], target=g["wire"]["target"], headers=g["wire"]["headers"],
                          now=ts.strftime("%Y%m%dT%H%M%SZ")))
    go.close()
    doc = dict(access_key_id="AKIDEXAMPLE", secret_access_key="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
               region="us-east-1", signer=f"AWS SDK for Go v2 aws/signer/v4 {go.version}",
               recorded_by="scripts/differential/hypothesis_diff.py --record-go PATH", cases=cases)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as fh:
        json.dump(doc, fh, indent=1, ensure_ascii=False)
        fh.write("\n")
    print(f"recorded {len(cases)} requests signed by the Go SDK v2 into {path}")


class Driver(PeerProcess):
    """swift-sigv4's SigV4DiffDriver: signs as the peers do (the keys it does not read, `s3` and
    `body_b64`, are ignored) and also verifies."""

    def __init__(self, path):
        super().__init__("ours", [path])

    def verify(self, r, wire):
        """Verifies a signed wire request with swift-sigv4's verifier at the signing time."""
        msg = dict(op="verify", method=wire["method"], target=wire["target"], headers=wire["headers"],
                   body_b64=base64.b64encode(r["body"]).decode(), access_key_id=r["akid"],
                   secret_access_key=r["secret"], session_token=r["token"], now=r["ts"].strftime("%Y%m%dT%H%M%SZ"))
        self.p.stdin.write(json.dumps(msg) + "\n")
        return json.loads(self.p.stdout.readline())


# ---------------------------------------------------------------------------------------- run

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--driver", default=".build/debug/SigV4DiffDriver")
    ap.add_argument("--report", default=None)
    ap.add_argument("--no-verify", action="store_true",
                    help="skip verifying the peers' (and our) signed requests with swift-sigv4's verifier")
    ap.add_argument("--go", choices=["auto", "require", "off"], default="auto",
                    help="also sign with the AWS SDK for Go v2 (Debian's golang-github-aws-aws-sdk-go-v2-dev): "
                         "auto when installed, require (fail when missing), off")
    ap.add_argument("--ruby", choices=["auto", "require", "off"], default="auto",
                    help="also sign with Ruby's aws-sigv4 (Debian's ruby-aws-sigv4): as --go")
    ap.add_argument("--record-go", metavar="PATH",
                    help="sign RECORDED_GO with the Go SDK v2 and write them to PATH (for the Swift tests), then exit")
    args = ap.parse_args()
    if args.record_go:
        record_go(args.record_go)
        return 0
    driver = Driver(args.driver)
    peers = []
    for choice, cls, what in ((args.go, GoSigner, "the Go SDK v2 signer"), (args.ruby, RubySigner, "Ruby's aws-sigv4")):
        if choice == "require" and not cls.available():
            print(f"{what} is required but not installed", file=sys.stderr)
            return 1
        if choice == "require" or (choice == "auto" and cls.available()):
            peers.append(cls())
    peer_stats = collections.Counter()
    peer_refused = []
    stats = collections.Counter()
    disagreements = collections.Counter()
    verdicts = collections.Counter()
    failures = []
    examples = {}

    @hyp_seed(args.seed)
    @settings(max_examples=args.cases, deadline=None, database=None, derandomize=False,
              suppress_health_check=list(HealthCheck))
    @given(requests())
    def run(r):
        stats["cases"] += 1
        stats[f"mode={r['mode']} s3={r['s3']}"] += 1
        b = botocore_sign(r)
        query = b["input_query"] if r["mode"] == "query" else r["query"]
        payload = b["payload"]
        c = awscrt_sign(r, query, payload)
        ours = driver.sign(r, query, payload)
        if "error" in ours:
            failures.append(dict(case=r_summary(r), error=ours["error"]))
            return
        if not args.no_verify:
            check_verifier(r, b, c, ours)
        for peer in peers:
            check_peer(peer, r, query, payload, b, c, ours)
        if b["signature"] == c["signature"]:
            stats["peers agree"] += 1
            if ours["signature"] == b["signature"]:
                stats["ours matches both"] += 1
            elif documented_s3_path_deviation(r, b["canonical_request"], ours["canonical_request"]):
                # Both peers put an S3 path verbatim into the canonical request; we encode it once as
                # the S3 documentation does (raw '$' -> '%24'). Every other line must still agree.
                stats["documented deviation: S3 path encoded once"] += 1
            else:
                failures.append(dict(case=r_summary(r), botocore_cr=b["canonical_request"],
                                     ours_cr=ours["canonical_request"]))
        else:
            stats["peers disagree"] += 1
            key = ("ours=botocore" if ours["signature"] == b["signature"] else
                   "ours=awscrt" if ours["signature"] == c["signature"] else "ours=neither")
            cat = categorize(r, b["canonical_request"], ours["canonical_request"])
            disagreements[(cat, key)] += 1
            examples.setdefault((cat, key), dict(case=r_summary(r), botocore_cr=b["canonical_request"],
                                                 ours_cr=ours["canonical_request"]))

    def check_verifier(r, b, c, ours):
        """Our verifier must accept every request a peer signed the way we sign it (same signature), and our
        own signed request. Where a peer's signature differs from ours the verdict is recorded, not failed:
        the verifier follows the AWS rules, as AWS does."""
        ours_wire = dict(method=r["method"], target=ours["target"],
                         headers=with_host(r, [tuple(h) for h in r["headers"]]
                                           + [tuple(h) for h in ours["added_headers"]]))
        for peer, signed in (("botocore", b), ("awscrt", c), ("ours", dict(signature=ours["signature"], wire=ours_wire))):
            v = driver.verify(r, signed["wire"])
            same = signed["signature"] == ours["signature"]
            verdict = "accepted" if v.get("ok") else "rejected " + str(v.get("code"))
            verdicts[(peer, r["mode"], "same signature as ours" if same else "different signature", verdict)] += 1
            if same and not v.get("ok"):
                failures.append(dict(case=r_summary(r), verifier_rejected=peer, wire=signed["wire"], verdict=v))

    def check_peer(peer, r, query, payload, b, c, ours):
        """Another SDK's signer signs the same request. Where it, botocore and awscrt all agree, ours
        must be the same; our verifier must accept every request it signs, as that SDK sends it
        (where it leaves the AWS rule, the verifier has a documented reading: Docs/Verifier.md);
        verdicts and readings are counted."""
        name = peer.name
        g = peer.sign(r, query, payload)
        if "error" in g:
            kind = g["error"].split(":")[0]
            peer_stats[f"{name}: could not sign ({kind})"] += 1
            examples.setdefault((f"{name} could not sign", kind), dict(case=r_summary(r), error=g["error"][:300]))
            return
        peer_stats[f"{name}: signed"] += 1
        same = g["signature"] == ours["signature"]
        cat = categorize(r, g["canonical_request"], ours["canonical_request"])
        peer_stats[f"{name}: same signature as ours" if same else f"{name}: different signature: {cat}"] += 1
        if g["signature"] == b["signature"] == c["signature"] and not same and not documented_s3_path_deviation(
                r, b["canonical_request"], ours["canonical_request"]):
            failures.append(dict(case=r_summary(r), all_three_peers_agree=name, peer_cr=g["canonical_request"],
                                 ours_cr=ours["canonical_request"]))
        if not args.no_verify:
            v = driver.verify(r, g["wire"])
            if v.get("ok"):
                peer_stats[f"{name}: verified by reading {v.get('canonical_form')}"] += 1
            else:
                peer_stats[f"{name}: refused {v.get('code')}"] += 1
                peer_refused.append(dict(peer=name, case=r_summary(r), peer_cr=g["canonical_request"], wire=g["wire"],
                                        verdict=v.get("code")))
                failures.append(dict(case=r_summary(r), verifier_rejected=name, wire=g["wire"], verdict=v,
                                     peer_cr=g["canonical_request"]))

    run()
    driver.close()
    for peer in peers:
        peer.close()
    report = dict(stats=dict(stats), disagreements={f"{k[0]} / {k[1]}": v for k, v in disagreements.items()},
                  examples={f"{k[0]} / {k[1]}": v for k, v in examples.items()}, failures=failures[:20],
                  verifier={" / ".join(k): n for k, n in sorted(verdicts.items())},
                  failure_count=len(failures), botocore=botocore.__version__, other_peers=dict(peer_stats),
                  other_peers_refused=peer_refused,
                  awscrt=__import__("awscrt").__version__ if hasattr(__import__("awscrt"), "__version__") else "?")
    if args.report:
        with open(args.report, "w") as f:
            json.dump(report, f, indent=1, ensure_ascii=False)
    print(f"differential: {stats['cases']} cases; botocore and awscrt agree on {stats['peers agree']}, "
          f"ours matches both on {stats['ours matches both']}; peers disagree on {stats['peers disagree']}")
    for (cat, key), n in sorted(disagreements.items(), key=lambda kv: -kv[1]):
        print(f"  disagreement {cat:40} {key:14} {n}")
    for k, n in sorted(verdicts.items()):
        print(f"  verifier: {k[0]:8} {k[1]:6} {k[2]:24} {k[3]:30} {n}")
    for k, n in sorted(peer_stats.items()):
        print(f"  {k:70} {n}")
    for f_ in failures[:5]:
        print("MISMATCH", json.dumps(f_, ensure_ascii=False)[:800])
    print(f"  documented deviations (S3 path encoded once, per the S3 docs): "
          f"{stats['documented deviation: S3 path encoded once']}")
    print(f"{stats['ours matches both'] + stats['documented deviation: S3 path encoded once']} passed, "
          f"{len(failures)} failed")
    return 1 if failures else 0


def r_summary(r):
    s = {k: v for k, v in r.items() if k not in ("body", "ts")}
    s["ts"] = r["ts"].strftime("%Y%m%dT%H%M%SZ")
    s["body_b64"] = base64.b64encode(r["body"]).decode()
    return s


def s3_encode_once(path):
    out = []
    b = path.encode()
    i = 0
    while i < len(b):
        ch = b[i]
        if chr(ch) in UNRESERVED or ch == 0x2F:
            out.append(chr(ch))
        elif ch == 0x25 and i + 2 < len(b) and all(chr(x) in "0123456789ABCDEFabcdef" for x in b[i + 1:i + 3]):
            out.append(b[i:i + 3].decode())
            i += 2
        else:
            out.append("%%%02X" % ch)
        i += 1
    return "".join(out)


def documented_s3_path_deviation(r, b_cr, o_cr):
    if not r["s3"]:
        return False
    bl, ol = b_cr.split("\n"), o_cr.split("\n")
    return (len(bl) == len(ol) and bl[1] != ol[1] and ol[1] == s3_encode_once(r["path"])
            and bl[:1] + bl[2:] == ol[:1] + ol[2:])


def categorize(r, b_cr, o_cr):
    bl = b_cr.split("\n")
    ol = o_cr.split("\n")
    if len(bl) > 1 and len(ol) > 1 and bl[1] != ol[1]:
        return "path (" + ("s3" if r["s3"] else "standard") + ")"
    if len(bl) > 2 and len(ol) > 2 and bl[2] != ol[2]:
        return "query"
    return "other"


if __name__ == "__main__":
    sys.exit(main())
