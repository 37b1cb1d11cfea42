"""Schemathesis hooks for the forum API: authenticate every generated request as an admin.

The token is fetched by logging in and refreshed every second, because generated requests may
log the session out (POST /auth/logout) and later operations still need a live token.
"""

import json
import os
import urllib.request

import schemathesis

BASE = os.environ["FORUM_FUZZ_BASE"]
LOGIN = os.environ["FORUM_FUZZ_LOGIN"]
PASSWORD = os.environ["FORUM_FUZZ_PASSWORD"]


@schemathesis.auth(refresh_interval=1)
class AdminToken:
    def get(self, case, context):
        body = json.dumps({"login": LOGIN, "password": PASSWORD}).encode()
        req = urllib.request.Request(
            f"{BASE}/api/v1/auth/login", data=body, headers={"content-type": "application/json"}
        )
        with urllib.request.urlopen(req, timeout=30) as res:
            return json.load(res)["access_token"]

    def set(self, case, data, context):
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"
