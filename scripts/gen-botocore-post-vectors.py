#!/usr/bin/env python3
"""Generate browser-form upload (POST policy) cases signed by botocore's generate_presigned_post.

Each case records the inputs (bucket, key, fields, conditions, credentials, frozen time, lifetime)
and botocore's output (the form fields it returns, policy and signature included). The Swift tests
(SigV4VerifierTests/PostFormTests) verify every form with SigV4Verifier at a time inside the
policy's life and again one second after it expires, and sign the same inputs with
Signer.presignPost to compare the policy documents' conditions.

Usage:
    python3 scripts/gen-botocore-post-vectors.py [--seed 2026] [--count 300]
        [--out TestVectors/botocore-post/cases.json]

The output is deterministic for a given seed, count and botocore version.
"""

import argparse
import base64
import contextlib
import datetime
import json
import random
import string

import botocore
import botocore.auth
import botocore.session
import botocore.signers

SECRET_CHARS = string.ascii_letters + string.digits + "/+"
KEY_CHARS = string.ascii_letters + string.digits + "-_.!*'() /~+=&$@,;:?é€日本"


def random_key(rng):
    key = "".join(rng.choice(KEY_CHARS) for _ in range(rng.randint(1, 40))).strip() or "k"
    if rng.random() < 0.3:
        key = key.rstrip("/") + "/${filename}"
    return key


def random_case(rng, index):
    bucket = rng.choice(["examplebucket", "photos", "my.bucket.name", "b-1-2-3"])
    key = random_key(rng)
    fields = {}
    conditions = []
    if rng.random() < 0.5:
        fields["Content-Type"] = rng.choice(["image/jpeg", "text/plain; charset=utf-8", "application/octet-stream"])
    if rng.random() < 0.4:
        fields["acl"] = rng.choice(["private", "public-read"])
    if rng.random() < 0.3:
        fields["success_action_status"] = rng.choice(["200", "201", "204"])
    if rng.random() < 0.4:
        fields["x-amz-meta-" + rng.choice(["uuid", "tag", "owner"])] = "".join(
            rng.choice(string.ascii_letters + " \"\\") for _ in range(rng.randint(0, 12)))
    if rng.random() < 0.5:
        lo = rng.randint(0, 100)
        conditions.append(["content-length-range", lo, lo + rng.randint(0, 1 << 20)])
    if rng.random() < 0.3:
        conditions.append(["starts-with", "$Content-Type", ""])
        fields.setdefault("Content-Type", "image/png")
    for name, value in fields.items():
        conditions.append({name: value})
    token = None
    if rng.random() < 0.25:
        token = "".join(rng.choice(SECRET_CHARS) for _ in range(rng.randint(20, 200)))
    secret = "".join(rng.choice(SECRET_CHARS) for _ in range(40))
    access_key = "AKID" + "".join(rng.choice(string.ascii_uppercase + string.digits) for _ in range(16))
    region = rng.choice(["us-east-1", "eu-west-1", "ap-southeast-2"])
    moment = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc) + datetime.timedelta(
        seconds=rng.randint(0, 300 * 86400))
    expires = rng.choice([1, 60, 3600, 86400, 604800])
    return dict(index=index, bucket=bucket, key=key, fields=fields, conditions=conditions, token=token,
                secret=secret, access_key_id=access_key, region=region,
                time=moment.strftime("%Y%m%dT%H%M%SZ"), expires=expires), moment


@contextlib.contextmanager
def frozen_clock(moment):
    """botocore's clock stopped at `moment` (naive UTC, yielded): botocore reads it through
    get_current_datetime in both modules (policy expiration, x-amz-date)."""
    frozen = moment.replace(tzinfo=None)
    saved = (botocore.auth.get_current_datetime, botocore.signers.get_current_datetime)
    botocore.auth.get_current_datetime = lambda *a, **k: frozen
    botocore.signers.get_current_datetime = lambda *a, **k: frozen
    try:
        yield frozen
    finally:
        botocore.auth.get_current_datetime, botocore.signers.get_current_datetime = saved


def sign(case, moment):
    with frozen_clock(moment):
        session = botocore.session.get_session()
        client = session.create_client(
            "s3", region_name=case["region"], aws_access_key_id=case["access_key_id"],
            aws_secret_access_key=case["secret"], aws_session_token=case["token"],
            config=botocore.config.Config(signature_version="s3v4", s3={"addressing_style": "path"}))
        post = client.generate_presigned_post(
            case["bucket"], case["key"], Fields=dict(case["fields"]), Conditions=list(case["conditions"]),
            ExpiresIn=case["expires"])
    return post


def sign_s3express(case, moment):
    """The form botocore's generate_presigned_post makes for an S3 Express directory bucket, built as
    botocore.signers.generate_presigned_post and S3PostPresigner build it and signed by
    S3ExpressPostAuth (the client path would first call CreateSession for the credentials; here they
    are given, as an S3 Express session's always carry a token)."""
    with frozen_clock(moment) as frozen:
        fields = dict(case["fields"])
        conditions = list(case["conditions"])
        key = case["key"]
        conditions.append({"bucket": case["bucket"]})
        if key.endswith("${filename}"):
            conditions.append(["starts-with", "$key", key[: -len("${filename}")]])
        else:
            conditions.append({"key": key})
        fields["key"] = key
        expire_date = frozen + datetime.timedelta(seconds=case["expires"])
        policy = {"expiration": expire_date.strftime(botocore.auth.ISO8601), "conditions": conditions}
        request = botocore.awsrequest.AWSRequest(
            method="POST", url=f"https://{case['bucket']}.s3express-usw2-az1.{case['region']}.amazonaws.com/")
        request.context["s3-presign-post-fields"] = fields
        request.context["s3-presign-post-policy"] = policy
        credentials = botocore.credentials.Credentials(case["access_key_id"], case["secret"], case["token"])
        botocore.auth.S3ExpressPostAuth(
            credentials, "s3express", case["region"], identity_cache=None).add_auth(request)
    return {"fields": fields}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--s3express", action="store_true",
                        help="S3 Express One Zone forms (S3ExpressPostAuth, X-Amz-S3session-Token), 60 cases")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--count", type=int, default=None)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    if args.seed is None:
        args.seed = 3026 if args.s3express else 2026
    if args.count is None:
        args.count = 60 if args.s3express else 300
    if args.out is None:
        args.out = "TestVectors/botocore-post/" + ("s3express-cases.json" if args.s3express else "cases.json")
    rng = random.Random(args.seed)
    cases = []
    for i in range(args.count):
        case, moment = random_case(rng, i)
        if args.s3express:
            case["bucket"] = case["bucket"].replace(".", "-") + "--usw2-az1--x-s3"
            if case["token"] is None:
                case["token"] = "".join(rng.choice(SECRET_CHARS) for _ in range(rng.randint(20, 200)))
            post = sign_s3express(case, moment)
        else:
            post = sign(case, moment)
        case["form"] = [[name, value] for name, value in post["fields"].items()]
        case["policy_json"] = base64.b64decode(post["fields"]["policy"]).decode()
        cases.append(case)
    with open(args.out, "w") as f:
        json.dump({"botocore": botocore.__version__, "seed": args.seed, "cases": cases}, f, indent=1,
                  ensure_ascii=False)
        f.write("\n")
    print(f"wrote {len(cases)} cases to {args.out} (botocore {botocore.__version__})")


if __name__ == "__main__":
    import botocore.awsrequest  # noqa: F401  (AWSRequest)
    import botocore.config  # noqa: F401  (client Config)
    import botocore.credentials  # noqa: F401  (Credentials)
    main()
