#!/usr/bin/env python3
"""botocore's SigV4Auth / SigV4QueryAuth on the benchmark request (see common.py)."""

import os
import sys
from unittest import mock

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

import botocore.auth  # noqa: E402
from botocore.auth import SigV4Auth, SigV4QueryAuth  # noqa: E402
from botocore.awsrequest import AWSRequest  # noqa: E402
from botocore.credentials import Credentials  # noqa: E402


def main():
    quick = common.quick_flag()
    creds = Credentials(common.ACCESS_KEY_ID, common.SECRET)
    header_auth = SigV4Auth(creds, common.SERVICE, common.REGION)
    query_auth = SigV4QueryAuth(creds, common.SERVICE, common.REGION, expires=3600)

    def make():
        return AWSRequest(method="GET", url=common.URL, headers=dict(common.HEADERS))

    def sign():
        header_auth.add_auth(make())

    def presign():
        query_auth.add_auth(make())

    # botocore derives the signing key on every signature: warm and cold are the same work.
    with mock.patch.object(botocore.auth, "get_current_datetime", return_value=common.DATE.replace(tzinfo=None)):
        common.run(
            "botocore",
            {
                "sign_header_warm": (sign, make),
                "sign_header_cold": (sign, make),
                "presign_warm": (presign, make),
            },
            quick,
        )


if __name__ == "__main__":
    main()
