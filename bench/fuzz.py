"""schemathesis over the merged OpenAPI, as admin and as a resident: the API answers no input with a 5xx.

Starts an embedded stack (rate limits lifted, a demo household), then runs `schemathesis run` against
/api/v1/openapi.json with the examples, coverage and fuzzing phases and the `not_a_server_error` check.

    make fuzz                          # the full run (several minutes)
    .venv/bin/python bench/fuzz.py --max-examples 5 --phases examples,coverage   # a short one
Exit status: schemathesis's (0 = no server error found).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ADMIN_PASSWORD = "fuzz-admin-password-1"
# The destructive ones are not what this run looks for: signing out or revoking the run's own credentials.
EXCLUDED_PATHS = "^/api/v1/(auth/logout|api-keys/.*/revoke)$"


def start_stack():
    from guanjia.stack import EmbeddedStack
    from guanjia.testing import TEST_RATE_LIMITS_ENV, TEST_SMS_LIMITS_ENV

    env = {
        "GUANJIA_VAR_DIR": tempfile.mkdtemp(prefix="guanjia-fuzz-"),
        "GUANJIA_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "GUANJIA_CITY": "fuzz",
        "GUANJIA_QUEUE_PREFIX": f"fuzz{uuid.uuid4().hex[:6]}.",
        "GUANJIA_RATE_LIMITS": TEST_RATE_LIMITS_ENV,
        "GUANJIA_TOKEN_TTL_SECONDS": "3600",  # one run takes ~5-10 minutes; a token must outlive it
        **TEST_SMS_LIMITS_ENV,
    }
    return EmbeddedStack(env=env, port=0).start()


def schemathesis(url: str, token: str, args) -> int:
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "run",
        f"{url}/api/v1/openapi.json",
        "--url",
        url,
        "-H",
        f"Authorization: Bearer {token}",
        "--checks",
        "not_a_server_error",
        "--phases",
        args.phases,
        "--max-examples",
        str(args.max_examples),
        "--exclude-path-regex",
        EXCLUDED_PATHS,
        "--request-timeout",
        "20",
        "--continue-on-failure",
    ]
    if args.include_path_regex:
        command += ["--include-path-regex", args.include_path_regex]
    return subprocess.run(command, check=False).returncode


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phases", default="examples,coverage,fuzzing")
    parser.add_argument("--max-examples", type=int, default=50)
    parser.add_argument("--include-path-regex", default=None)
    parser.add_argument("--as", dest="roles", default="resident,admin")  # the resident first: see main()
    args = parser.parse_args(argv)

    from tests.e2e.conftest import Client, make_household

    stack = start_stack()
    try:
        admin = Client(stack.url).login("admin", ADMIN_PASSWORD)
        household = make_household(admin)
        logins = {"admin": ("admin", ADMIN_PASSWORD), "resident": household["login"]}
        status = 0
        for role in args.roles.split(","):
            print(f"--- schemathesis as {role} ---", flush=True)
            # Signed in just before its run: a token signed in at the start had expired (10 min) by the second
            # run, which then saw only 401s; and the admin's run changes accounts, so the resident goes first.
            token = Client(stack.url).login(*logins[role]).token
            status = schemathesis(stack.url, token, args) or status
        return status
    finally:
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
