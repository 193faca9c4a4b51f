"""The authorization matrix, tried the way an attacker would, over real HTTP.

Every protected operation of the published contract × every forged, stale, misdirected
or under-privileged token → 401, 403 or 404 (or the attacker's own empty data), and no
body says anything about the victim organisation's data. The operations come from
blueprints/contract.py, so a new route joins the matrix by being added to the contract.
"""

from __future__ import annotations

import os
import time

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from blueprints import contract, dependencies
from devhost.asgi import LoopbackServer, free_port
from devhost.http_host import FunctionAppAsgi
from devhost.identity import access_claims, sign, signing_key
from devhost.platform import LocalPlatform
from tests.conftest import token_for

VICTIM, ATTACKER = "school-a", "school-b"
VICTIM_FILENAME = "victim-lesson-7f3a.mp4"
VICTIM_TEXT = "What would happen if the victim tower fell?"
VICTIM_EDUCATOR = "Ms Victim-9c1e"
PROTECTED = [op for op in contract.OPERATIONS if op.roles is not None]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The app with the Durable runtime (some routes need it) and the victim's data in it."""
    folder, port = tmp_path_factory.mktemp("authz"), free_port()
    saved = dict(os.environ)
    os.environ.update(DATA_DIR=str(folder / "data"), PUBLIC_BASE_URL=f"http://127.0.0.1:{port}")
    os.environ.pop("REDIS_URL", None)
    dependencies.reset()
    try:
        with LocalPlatform(run_worker=False) as platform, LoopbackServer(FunctionAppAsgi(platform=platform), port) as s:
            with httpx.Client(base_url=s.base_url, timeout=30) as client:
                victim = {"Authorization": f"Bearer {token_for(VICTIM, 'coach-1', 'coach')}"}
                video = client.post("/api/v1/videos", json={"filename": VICTIM_FILENAME, "educator": VICTIM_EDUCATOR},
                                    headers=victim).json()
                fed = client.post("/api/v1/feedback", json={"text": VICTIM_TEXT, "label": "OEQ"}, headers=victim)
                assert fed.status_code == 201, fed.text
                yield client, video
    finally:
        os.environ.clear()
        os.environ.update(saved)
        dependencies.reset()


def request_for(op: contract.Operation, video_id: str) -> dict:
    """A well-formed request for ``op`` aimed at the victim's data."""
    url = "/api" + op.path.replace("{video_id}", video_id)
    body = {contract.CLASSIFY: {"text": "Is it red?"}, contract.CREATE_VIDEO: {"filename": "x.mp4"},
            contract.CREATE_FEEDBACK: {"video_id": video_id, "question_index": 0, "label": "CEQ"}}.get(op)
    params = {contract.ERASE_TENANT: {"confirm": VICTIM},
              contract.GET_TREND: {"by": "educator", "key": VICTIM_EDUCATOR}}.get(op)
    return {"method": op.method, "url": url, "json": body, "params": params}


def forged(**changes) -> str:
    """A token like the provider's for a victim admin, with ``changes`` to its claims."""
    settings = dependencies.settings()
    claims = {**access_claims(VICTIM, "admin-1", ["admin"], settings.issuer, settings.audiences[0]), **changes}
    return sign({k: v for k, v in claims.items() if v is not None})


def other_key_token() -> str:
    """Signed by a key the issuer never published, under the published key's id."""
    settings = dependencies.settings()
    impostor = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    claims = access_claims(VICTIM, "admin-1", ["admin"], settings.issuer, settings.audiences[0])
    return jwt.encode(claims, impostor, algorithm="RS256", headers={"kid": signing_key().kid})


def unsigned_token() -> str:
    settings = dependencies.settings()
    claims = access_claims(VICTIM, "admin-1", ["admin"], settings.issuer, settings.audiences[0])
    return jwt.encode(claims, None, algorithm="none")


def confused_token() -> str:
    """Algorithm confusion: HS256 'signed' with the issuer's public key as the secret."""
    import base64
    import hashlib
    import hmac
    import json

    settings = dependencies.settings()
    public_pem = signing_key().private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    head = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": signing_key().kid}).encode())
    body = b64(json.dumps(access_claims(VICTIM, "admin-1", ["admin"], settings.issuer, settings.audiences[0])).encode())
    signature = b64(hmac.new(public_pem, f"{head}.{body}".encode(), hashlib.sha256).digest())
    return f"{head}.{body}.{signature}"


# attack -> a function giving the Authorization header (None: send none)
UNAUTHENTICATED = {
    "no token": lambda: None,
    "not bearer": lambda: "Basic YWRtaW46YWRtaW4=",
    "malformed": lambda: "Bearer not.a.jwt",
    "bearer without a token": lambda: "Bearer",
    "bad signature": lambda: f"Bearer {other_key_token()}",
    "tampered claims": lambda: "Bearer " + _tampered(),
    "alg none": lambda: f"Bearer {unsigned_token()}",
    "alg confusion HS256": lambda: f"Bearer {confused_token()}",
    "unknown key id": lambda: "Bearer " + jwt.encode(
        access_claims(VICTIM, "a", ["admin"], dependencies.settings().issuer, dependencies.settings().audiences[0]),
        signing_key().private_key, algorithm="RS256", headers={"kid": "rotated-away"}),
    "jku header pointing at the attacker's keys": lambda: "Bearer " + _self_signed_with_jku(),
    "wrong issuer": lambda: f"Bearer {forged(iss='https://login.example.com/evil/v2.0')}",
    "wrong audience": lambda: f"Bearer {forged(aud='api://some-other-app')}",
    "expired": lambda: f"Bearer {forged(exp=int(time.time()) - 3600, iat=int(time.time()) - 7200)}",
    "not yet valid": lambda: f"Bearer {forged(nbf=int(time.time()) + 3600)}",
    "no expiry": lambda: f"Bearer {forged(exp=None)}",
}


def _self_signed_with_jku() -> str:
    """Signed by the attacker's key, naming the attacker's JWKS in ``jku``: the app must only
    ever use the issuer's published keys, never a URL the token brings along."""
    settings = dependencies.settings()
    attacker = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    claims = access_claims(VICTIM, "admin-1", ["admin"], settings.issuer, settings.audiences[0])
    return jwt.encode(claims, attacker, algorithm="RS256",
                      headers={"kid": "attacker-key", "jku": "http://127.0.0.1:9/attacker/jwks"})


def _tampered() -> str:
    """A victim reader's genuine token with its role payload swapped for admin."""
    import base64
    import json

    head, _, rest = token_for(VICTIM, "reader-1", "reader").partition(".")
    payload, _, signature = rest.partition(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["roles"] = ["admin"]
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{head}.{forged_payload}.{signature}"


def assert_no_leak(response: httpx.Response, video: dict) -> None:
    text = response.text
    for private in (VICTIM_FILENAME, VICTIM_TEXT, video["upload_url"], "coach-1"):
        assert private not in text, f"{private!r} leaked in {response.status_code}: {text[:300]}"
    assert "Traceback" not in text


def assert_security_headers(response: httpx.Response) -> None:
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


def assert_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, f"{response.status_code} {response.text[:300]}"
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    assert body["error"]["code"] == code


@pytest.mark.parametrize("attack", sorted(UNAUTHENTICATED))
@pytest.mark.parametrize("op", PROTECTED, ids=lambda op: op.operation_id)
def test_forged_or_stale_tokens_are_401(site, op, attack):
    client, video = site
    header = UNAUTHENTICATED[attack]()
    response = client.request(**request_for(op, video["video_id"]),
                              headers={"Authorization": header} if header else {})
    assert_error(response, 401, "unauthorized")
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert_no_leak(response, video)
    assert_security_headers(response)


def _role_without_the_right(op: contract.Operation) -> list[str]:
    missing = [r for r in ("reader", "coach", "admin") if r not in op.roles]
    return missing[-1:]  # the strongest role that still may not (none left: a token with no app role)


@pytest.mark.parametrize("op", PROTECTED, ids=lambda op: op.operation_id)
def test_a_role_without_the_right_is_403(site, op):
    client, video = site
    settings = dependencies.settings()
    roles = _role_without_the_right(op)
    token = sign(access_claims(VICTIM, "member-9", roles, settings.issuer, settings.audiences[0]))
    response = client.request(**request_for(op, video["video_id"]), headers={"Authorization": f"Bearer {token}"})
    assert_error(response, 403, "forbidden")
    assert_no_leak(response, video)


@pytest.mark.parametrize("claims", [{"tid": None}, {"tid": "../etc"}, {"roles": ["superuser"]}, {"roles": "admin; x"}],
                         ids=["no tenant", "tenant with a path", "unknown role", "role as a string"])
def test_a_valid_token_without_a_usable_tenant_or_role_is_403(site, claims):
    client, video = site
    response = client.get("/api/v1/videos", headers={"Authorization": f"Bearer {forged(**claims)}"})
    assert_error(response, 403, "forbidden")
    assert_no_leak(response, video)


# Another organisation's admin (the strongest role) aims at the victim's data.
CROSS_TENANT = {
    contract.GET_VIDEO: 404, contract.GET_ANALYSIS: 404, contract.DELETE_VIDEO: 404, contract.CREATE_FEEDBACK: 404,
    contract.ERASE_TENANT: 400,  # confirm names the victim: refused, nothing erased
    contract.GET_MEDIA: 404,
    contract.LIST_VIDEOS: 200, contract.LIST_FEEDBACK: 200,  # the attacker's own (empty) lists
    contract.GET_TREND: 200, contract.LIST_TREND_SUBJECTS: 200,  # the attacker's own (empty) trends
    contract.CLASSIFY: 200, contract.LIST_MODELS: 200, contract.CREATE_VIDEO: 201,  # no tenant data involved
}


def test_every_protected_operation_has_a_cross_tenant_expectation():
    assert set(CROSS_TENANT) == set(PROTECTED)


@pytest.mark.parametrize("op", PROTECTED, ids=lambda op: op.operation_id)
def test_another_tenants_token_reaches_nothing_of_the_victim(site, op):
    client, video = site
    attacker = {"Authorization": f"Bearer {token_for(ATTACKER, 'admin-b', 'admin')}"}
    response = client.request(**request_for(op, video["video_id"]), headers=attacker)
    assert response.status_code == CROSS_TENANT[op], response.text
    assert_no_leak(response, video)
    if response.status_code == 404:
        missing = client.request(**request_for(op, "0" * 32), headers=attacker)
        assert (missing.status_code, missing.json()["error"]["code"]) == (404, response.json()["error"]["code"])
        assert missing.json()["error"]["message"].replace("0" * 32, video["video_id"]) == \
            response.json()["error"]["message"], "a foreign id must read exactly like a missing one"
    if op is contract.LIST_VIDEOS:  # the attacker's own uploads at most
        assert video["video_id"] not in [v["video_id"] for v in response.json()["videos"]]
    if op is contract.LIST_FEEDBACK:
        assert {f["tenant_id"] for f in response.json()["feedback"]} <= {ATTACKER}
    if op is contract.GET_TREND:  # (the key it echoes is the attacker's own query)
        assert response.json()["points"] == []
    if op is contract.LIST_TREND_SUBJECTS:
        assert response.json() == {"educators": [], "classrooms": []}
    if op is contract.CREATE_VIDEO:
        assert f"/{ATTACKER}/" in response.json()["upload_url"]
    # The victim still has everything.
    victim = {"Authorization": f"Bearer {token_for(VICTIM, 'coach-1', 'coach')}"}
    assert client.get(f"/api/v1/videos/{video['video_id']}", headers=victim).status_code == 200


@pytest.mark.parametrize("op", PROTECTED, ids=lambda op: op.operation_id)
def test_the_rightful_caller_is_admitted(site, op):
    """The matrix's control: the same requests with a valid token of the right role get past
    sign-in (so the 401s and 403s above are about the tokens, not broken requests)."""
    client, video = site
    if op is contract.ERASE_TENANT:
        response = client.delete("/api/v1/tenant", params={"confirm": "someone-else"},
                                 headers={"Authorization": f"Bearer {token_for(VICTIM, 'admin-1', 'admin')}"})
        assert_error(response, 400, "invalid_request")  # admitted; the confirmation (deliberately wrong) is checked
        return
    role = "admin" if op.roles == contract.ADMIN else ("coach" if "coach" in op.roles else "reader")
    response = client.request(**request_for(op, video["video_id"]),
                              headers={"Authorization": f"Bearer {token_for(VICTIM, 'coach-1', role)}"})
    assert response.status_code not in (401, 403), response.text
    assert_security_headers(response)


@pytest.mark.parametrize("path", ["/api/health", "/api/openapi.json"])
def test_health_and_the_contract_need_no_token_and_carry_the_headers(site, path):
    client, _ = site
    response = client.get(path)
    assert response.status_code == 200
    assert_security_headers(response)
