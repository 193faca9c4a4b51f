"""Smoke-test a deployed API: GET /api/health, then POST /api/v1/classify.

    python scripts/smoke_test.py https://APP.azurewebsites.net [--wait 300] [--allow-degraded]
    python scripts/smoke_test.py http://127.0.0.1:7071 --token "$(python -m devhost token --tenant t --user u | tail -1)"

With a bearer token (--token, or SMOKE_TEST_TOKEN) classification must answer; without
one it must be refused with 401 (sign-in is enforced).

Retries until the app answers (a fresh deployment cold-starts) for at most --wait seconds,
then checks once more and exits 0 when every check passes, 1 otherwise, printing one line
per check. Standard library only, so it runs anywhere Python 3.11 does (CI, a laptop).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request

# One question of each kind; the labels are what the shipped classifier gives them.
PROBES = {"Why do you think it sank?": "OEQ", "Is it red?": "CEQ"}


class SmokeFailure(Exception):
    pass


def request(base_url: str, method: str, path: str, body: dict | None = None, timeout_s: float = 30.0,
            token: str | None = None):
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json", "Accept": "application/json",
               **({"Authorization": f"Bearer {token}"} if token else {})}
    req = urllib.request.Request(base_url.rstrip("/") + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout_s) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
        raise SmokeFailure(f"{method} {path}: {getattr(error, 'reason', error)}") from None
    try:
        return status, json.loads(raw or b"null")
    except ValueError:
        raise SmokeFailure(f"{method} {path}: HTTP {status}, not JSON: {raw[:200]!r}") from None


def check_health(base_url: str, allow_degraded: bool) -> str:
    status, body = request(base_url, "GET", "/api/health")
    state = body.get("status") if isinstance(body, dict) else None
    accepted = {"ok", "degraded"} if allow_degraded else {"ok"}
    if status != 200 or state not in accepted:
        raise SmokeFailure(f"GET /api/health: HTTP {status}, status {state!r}, dependencies "
                           f"{body.get('dependencies') if isinstance(body, dict) else body}")
    return f"GET /api/health: {state}"


def check_classify(base_url: str, token: str | None) -> str:
    status, body = request(base_url, "POST", "/api/v1/classify", {"texts": list(PROBES)}, token=token)
    if token is None:
        code = body.get("error", {}).get("code") if isinstance(body, dict) else None
        if status != 401 or code != "unauthorized":
            raise SmokeFailure(f"POST /api/v1/classify without a token: expected 401 unauthorized, got HTTP {status}")
        return "POST /api/v1/classify: 401 without a token (sign-in enforced)"
    if status != 200 or not isinstance(body, dict):
        raise SmokeFailure(f"POST /api/v1/classify: HTTP {status}: {body}")
    results = body.get("results") or []
    got = {r.get("text"): r.get("label") for r in results if isinstance(r, dict)}
    if got != PROBES or not body.get("model_version"):
        raise SmokeFailure(f"POST /api/v1/classify: expected {PROBES} and a model_version, got {body}")
    return f"POST /api/v1/classify: {len(results)} results, model {body['model_version']}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base_url", help="the app's address, e.g. https://APP.azurewebsites.net")
    parser.add_argument("--wait", type=float, default=300.0, help="seconds to wait for the app to answer")
    parser.add_argument("--allow-degraded", action="store_true",
                        help="accept a degraded health status (a dependency such as Redis is unreachable)")
    parser.add_argument("--token", default=os.environ.get("SMOKE_TEST_TOKEN") or None,
                        help="a bearer token for the API (default: SMOKE_TEST_TOKEN); without one, checks the 401")
    args = parser.parse_args(argv)

    deadline = time.monotonic() + args.wait
    while True:
        try:
            lines = [check_health(args.base_url, args.allow_degraded), check_classify(args.base_url, args.token)]
        except SmokeFailure as failure:
            if time.monotonic() >= deadline:
                print(f"smoke test FAILED: {failure}", file=sys.stderr)
                return 1
            print(f"not ready yet ({failure}); retrying", file=sys.stderr)
            time.sleep(min(10.0, max(0.5, deadline - time.monotonic())))
            continue
        for line in lines:
            print(f"ok  {line}")
        return 0


if __name__ == "__main__":
    sys.exit(main())
