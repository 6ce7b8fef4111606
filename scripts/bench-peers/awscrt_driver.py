#!/usr/bin/env python3
"""awscrt (aws-c-auth) signing the benchmark request (see common.py)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

from awscrt import auth, http  # noqa: E402


def main():
    quick = common.quick_flag()
    provider = auth.AwsCredentialsProvider.new_static(common.ACCESS_KEY_ID, common.SECRET)

    def config(signature_type, expires=None, algorithm=auth.AwsSigningAlgorithm.V4):
        return auth.AwsSigningConfig(
            algorithm=algorithm,
            signature_type=signature_type,
            credentials_provider=provider,
            region=common.REGION,
            service=common.SERVICE,
            date=common.DATE,
            signed_body_value=auth.AwsSignedBodyValue.EMPTY_SHA256,
            expiration_in_seconds=expires,
        )

    header_config = config(auth.AwsSignatureType.HTTP_REQUEST_HEADERS)
    query_config = config(auth.AwsSignatureType.HTTP_REQUEST_QUERY_PARAMS, 3600)
    # SigV4a: the region is the region set; aws-c-auth derives the ECDSA key pair once per
    # credentials object and caches it, so this is the signing itself.
    sigv4a_config = config(auth.AwsSignatureType.HTTP_REQUEST_HEADERS, algorithm=auth.AwsSigningAlgorithm.V4_ASYMMETRIC)
    path = f"{common.PATH}?{common.QUERY}"

    def make():
        return http.HttpRequest("GET", path, http.HttpHeaders([("Host", common.HOST)] + common.HEADERS))

    def sign():
        auth.aws_sign_request(make(), header_config).result()

    def presign():
        auth.aws_sign_request(make(), query_config).result()

    def sign_sigv4a():
        auth.aws_sign_request(make(), sigv4a_config).result()

    # aws-c-auth derives the signing key on every signature: warm and cold are the same work.
    common.run(
        "awscrt",
        {
            "sign_header_warm": (sign, make),
            "sign_header_cold": (sign, make),
            "presign_warm": (presign, make),
            "sign_header_sigv4a": (sign_sigv4a, make),
        },
        quick,
    )


if __name__ == "__main__":
    main()
