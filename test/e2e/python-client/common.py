# Shared by the scripts test/e2e/python-client.test.ts runs with Debian's python3-kubernetes:
# a client configured from the environment (the Worker's URL and the admin token), and
# one JSON line per finding on stdout for the test to check.
import json
import os
import sys

from kubernetes import client


def api_client() -> client.ApiClient:
    conf = client.Configuration()
    conf.host = os.environ["SVCEDGE_URL"]
    conf.api_key = {"authorization": os.environ["SVCEDGE_TOKEN"]}
    conf.api_key_prefix = {"authorization": "Bearer"}
    conf.verify_ssl = False
    return client.ApiClient(conf)


def emit(**fields) -> None:
    print(json.dumps(fields), flush=True)


def fail(message: str) -> None:
    """One line on stderr and a non-zero exit: the test prints it; no traceback."""
    print(message, file=sys.stderr, flush=True)
    sys.exit(1)
