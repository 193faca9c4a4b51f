"""Sign-in: devhost's local OpenID provider (discovery, JWKS, login form, code + PKCE), the
``devhost token`` CLI, the app's token validator (key rotation, an unreachable issuer),
rate limits and what reaches the logs."""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import re
import secrets
import stat
import subprocess
import sys
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from devhost.identity import access_claims, signing_key
from services.identity import IdentityUnavailable, InvalidToken, TokenRules, TokenValidator
from services.ratelimit import Quota, RateLimiter
from tests.conftest import REPO, TENANT, bearer, free_port

CLIENT, REDIRECT = "web-app", "http://127.0.0.1:4280/signed-in"


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorize(api, challenge: str, tenant: str = TENANT, user: str = "ann", role: str = "coach", **extra):
    form = {"response_type": "code", "client_id": CLIENT, "redirect_uri": REDIRECT, "state": "xyz",
            "code_challenge": challenge, "code_challenge_method": "S256", "nonce": "n-1",
            "tenant": tenant, "user": user, "role": role, **extra}
    return api.post("/devhost/identity/authorize", data=form, headers={"Authorization": ""})


def test_discovery_and_jwks_describe_the_provider(api, served_app):
    discovery = api.get("/devhost/identity/.well-known/openid-configuration").json()
    assert discovery["issuer"] == f"{served_app.base_url}/devhost/identity"
    assert discovery["code_challenge_methods_supported"] == ["S256"]
    [key] = api.get(discovery["jwks_uri"]).json()["keys"]
    assert (key["kty"], key["alg"], key["use"]) == ("RSA", "RS256", "sig") and key["kid"] == signing_key().kid
    assert "d" not in key and "p" not in key  # the public half only


def test_the_signing_key_is_kept_private_and_reused(identity_home):
    first, second = signing_key(), signing_key()
    assert first.kid == second.kid
    assert stat.S_IMODE((identity_home / "signing-key.pem").stat().st_mode) == 0o600


def test_the_login_form_has_tenant_user_and_a_sign_in_button(api):
    _, challenge = pkce()
    page = api.get("/devhost/identity/authorize", params={
        "response_type": "code", "client_id": CLIENT, "redirect_uri": REDIRECT, "state": "s<script>",
        "code_challenge": challenge, "code_challenge_method": "S256"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert re.search(r"<label[^>]*>Tenant</label>", page.text) and re.search(r"<label[^>]*>User</label>", page.text)
    assert re.search(r"<button[^>]*>Sign in</button>", page.text)
    assert "s<script>" not in page.text and "s&lt;script&gt;" in page.text  # parameters are escaped
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert "form-action 'self' http://127.0.0.1:4280" in page.headers["content-security-policy"]


def test_code_flow_with_pkce_signs_in_to_the_api(api):
    verifier, challenge = pkce()
    redirect = authorize(api, challenge, role="reader")
    assert redirect.status_code == 302
    location = urlsplit(redirect.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    query = parse_qs(location.query)
    assert query["state"] == ["xyz"]
    exchange = {"grant_type": "authorization_code", "code": query["code"][0], "redirect_uri": REDIRECT,
                "client_id": CLIENT, "code_verifier": verifier}
    tokens = api.post("/devhost/identity/token", data=exchange)
    assert tokens.status_code == 200 and tokens.headers["cache-control"] == "no-store"
    access = tokens.json()["access_token"]
    id_claims = jwt.decode(tokens.json()["id_token"], options={"verify_signature": False})
    assert (id_claims["aud"], id_claims["nonce"], id_claims["tid"]) == (CLIENT, "n-1", TENANT)

    signed_in = {"Authorization": f"Bearer {access}"}
    assert api.get("/api/v1/videos", headers=signed_in).status_code == 200
    assert api.post("/api/v1/videos", json={}, headers=signed_in).status_code == 403  # a reader
    # A code works once.
    again = api.post("/devhost/identity/token", data=exchange)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


@pytest.mark.parametrize("change, error", [
    ({"code_verifier": secrets.token_urlsafe(48)}, "invalid_grant"),
    ({"code_verifier": "short"}, "invalid_grant"),
    ({"redirect_uri": "http://127.0.0.1:9999/elsewhere"}, "invalid_grant"),
    ({"client_id": "another-client"}, "invalid_grant"),
    ({"grant_type": "password"}, "unsupported_grant_type"),
])
def test_the_token_endpoint_refuses_a_wrong_exchange(api, change, error):
    verifier, challenge = pkce()
    code = parse_qs(urlsplit(authorize(api, challenge).headers["location"]).query)["code"][0]
    exchange = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "client_id": CLIENT,
                "code_verifier": verifier, **change}
    response = api.post("/devhost/identity/token", data=exchange)
    assert response.status_code == 400 and response.json()["error"] == error


@pytest.mark.parametrize("change", [
    {"code_challenge_method": "plain"}, {"code_challenge": ""}, {"redirect_uri": "https://evil.example/cb"},
    {"redirect_uri": "http://127.0.0.1@evil.example/cb"}, {"tenant": "../etc"}, {"role": "root"},
    {"response_type": "token"},
])
def test_the_authorize_endpoint_refuses_a_bad_request(api, change):
    _, challenge = pkce()
    response = authorize(api, challenge, **change)
    assert response.status_code == 400 and "location" not in response.headers


def test_devhost_token_prints_a_token_the_app_accepts(api, served_app):
    env = {**os.environ, "PYTHONPATH": str(REPO), "PUBLIC_BASE_URL": served_app.base_url}
    done = subprocess.run([sys.executable, "-m", "devhost", "token", "--tenant", "school-c", "--user", "u7",
                           "--role", "admin"], cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    token = done.stdout.strip().splitlines()[-1]
    assert jwt.decode(token, options={"verify_signature": False})["roles"] == ["admin"]
    assert api.get("/api/v1/feedback", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    bad = subprocess.run([sys.executable, "-m", "devhost", "token", "--tenant", "a/b", "--user", "u"], cwd=REPO,
                         env=env, capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0 and bad.stdout == "" and "Tenant must be" in bad.stderr


# --- the validator on its own: key rotation and an unreachable issuer ----------------------------------


class Issuer:
    """An issuer whose keys can rotate; counts how often its documents are fetched."""

    URL = "https://login.example.test/tenant/v2.0"

    def __init__(self):
        self.keys = {"k1": rsa.generate_private_key(public_exponent=65537, key_size=2048)}
        self.fetches = 0
        self.down = False

    def fetch(self, url: str) -> dict:
        self.fetches += 1
        if self.down:
            raise OSError("connection refused")
        if url.endswith("/.well-known/openid-configuration"):
            return {"issuer": self.URL, "jwks_uri": f"{self.URL}/keys"}
        # Entra's JWKS entries carry no "alg": the validator must cope.
        return {"keys": [{**jwt.algorithms.RSAAlgorithm.to_jwk(k.public_key(), as_dict=True), "kid": kid,
                          "use": "sig"} for kid, k in self.keys.items()]}

    def token(self, kid: str = "k1", **claims) -> str:
        body = {**access_claims("contoso", "u1", ["coach"], self.URL, "api://app"), **claims}
        return jwt.encode(body, self.keys[kid], algorithm="RS256", headers={"kid": kid})


class Clock:
    now = 1000.0

    def __call__(self):
        return self.now


def test_keys_are_cached_and_refreshed_once_when_the_issuer_rotates():
    issuer, clock = Issuer(), Clock()
    validator = TokenValidator(TokenRules(Issuer.URL, ("api://app",)), fetch=issuer.fetch, clock=clock)
    assert validator.principal(issuer.token()).tenant_id == "contoso"
    assert validator.principal(issuer.token()).roles == {"coach"}
    assert issuer.fetches == 2  # discovery + keys, once
    clock.now += 60
    issuer.keys["k2"] = rsa.generate_private_key(public_exponent=65537, key_size=2048)  # rotation
    assert validator.principal(issuer.token("k2")).user_id == "u1"
    assert issuer.fetches == 4
    # Made-up key ids do not make the app hammer the issuer: one refresh per cooldown at most.
    for _ in range(20):
        with pytest.raises(InvalidToken):
            validator.principal(jwt.encode({"a": 1}, issuer.keys["k1"], algorithm="RS256",
                                           headers={"kid": secrets.token_hex(4)}))
    assert issuer.fetches == 4


def test_an_unreachable_issuer_is_unavailable_not_unauthorised_and_cached_keys_carry_on():
    issuer, clock = Issuer(), Clock()
    validator = TokenValidator(TokenRules(Issuer.URL, ("api://app",)), fetch=issuer.fetch, clock=clock)
    issuer.down = True
    with pytest.raises(IdentityUnavailable):
        validator.principal(issuer.token())
    issuer.down = False
    clock.now += 60
    assert validator.principal(issuer.token()).tenant_id == "contoso"
    issuer.down = True
    clock.now += 7200  # keys are stale, the issuer is down: keep using the keys we have
    assert validator.principal(issuer.token()).tenant_id == "contoso"


def test_a_discovery_document_naming_another_issuer_is_refused():
    issuer = Issuer()
    validator = TokenValidator(TokenRules("https://login.example.test/other/v2.0", ("api://app",)),
                               fetch=issuer.fetch)
    with pytest.raises(IdentityUnavailable):
        validator.principal(issuer.token())


def test_clock_skew_is_allowed_up_to_the_setting():
    issuer, clock = Issuer(), Clock()
    validator = TokenValidator(TokenRules(Issuer.URL, ("api://app",), clock_skew_s=60), fetch=issuer.fetch,
                               clock=clock)
    import time

    assert validator.principal(issuer.token(exp=int(time.time()) - 30)).tenant_id == "contoso"
    with pytest.raises(InvalidToken, match="expired"):
        validator.principal(issuer.token(exp=int(time.time()) - 120))


def test_an_unreachable_issuer_answers_503_over_http(api, app_settings):
    app_settings(AUTH_ISSUER=f"http://127.0.0.1:{free_port()}/nobody")
    response = api.get("/api/v1/videos")
    assert response.status_code == 503 and response.json()["error"]["code"] == "identity_unavailable"
    assert response.headers["retry-after"]


# --- rate limits ------------------------------------------------------------------------------------


def test_a_user_hammering_classification_is_throttled_within_seconds(api):
    statuses = [api.post("/api/v1/classify", json={"text": "Is it red?"}).status_code for _ in range(40)]
    assert statuses[0] == 200 and 429 in statuses
    first_429 = statuses.index(429)
    assert first_429 <= 31  # the default: 30 per 10 seconds per user
    throttled = api.post("/api/v1/classify", json={"text": "Is it red?"})
    assert throttled.status_code == 429 and throttled.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(throttled.headers["retry-after"]) <= 10
    # Another user of the organisation, and another organisation, are not throttled by it.
    assert api.post("/api/v1/classify", json={"text": "Is it red?"}, headers=bearer(user="coach-2")).status_code == 200
    assert api.post("/api/v1/classify", json={"text": "Is it red?"},
                    headers=bearer(tenant="school-z")).status_code == 200


def test_the_tenant_limit_holds_across_its_users(api, app_settings):
    app_settings(RATE_LIMIT_UPLOADS_PER_USER="100/hour", RATE_LIMIT_UPLOADS_PER_TENANT="5/hour")
    statuses = [api.post("/api/v1/videos", json={}, headers=bearer(user=f"coach-{i}")).status_code for i in range(7)]
    assert statuses == [201] * 5 + [429] * 2
    assert api.post("/api/v1/videos", json={}, headers=bearer(tenant="school-z")).status_code == 201


def test_redis_counts_across_instances_and_a_redis_outage_falls_back_in_process(live_redis):
    quotas = {"classify": Quota.parse("3/minute", "100/minute")}
    first = RateLimiter.from_redis_url(quotas, live_redis.url)
    second = RateLimiter.from_redis_url(quotas, live_redis.url)  # another app instance
    assert [first.hit("classify", "t", "u"), second.hit("classify", "t", "u"), first.hit("classify", "t", "u")] \
        == [None, None, None]
    assert second.hit("classify", "t", "u") is not None
    assert live_redis.client().keys("LIMITS:*")
    live_redis.stop()
    try:
        assert first.hit("classify", "t", "v") is None  # counted in-process, not an error
    finally:
        live_redis.start()


def test_bad_rate_limit_setting_is_a_clear_500(api, app_settings):
    app_settings(RATE_LIMIT_CLASSIFY_PER_USER="lots")
    response = api.post("/api/v1/classify", json={"text": "Is it red?"})
    assert response.status_code == 500 and response.json()["error"]["code"] == "invalid_setting"
    assert "RATE_LIMIT_CLASSIFY_PER_USER" in response.json()["error"]["message"]


# --- what reaches the logs ---------------------------------------------------------------------------


def test_no_token_reaches_the_logs(api, app_settings, caplog):
    caplog.set_level(logging.DEBUG)
    good = bearer()["Authorization"].split()[1]
    expired = jwt.encode({**jwt.decode(good, options={"verify_signature": False}), "exp": 1},
                         signing_key().private_key, algorithm="RS256", headers={"kid": signing_key().kid})
    api.get("/api/v1/videos")
    api.get("/api/v1/videos", headers={"Authorization": f"Bearer {expired}"})
    api.post("/api/v1/classify", json={"text": "Is it red?"})
    app_settings(PREDICTION_CACHE_TTL_SECONDS="a week")  # an error that is logged
    api.post("/api/v1/classify", json={"text": "Is it red?"})
    app_settings(AUTH_ISSUER=f"http://127.0.0.1:{free_port()}/nobody")  # so is an unreachable issuer
    api.get("/api/v1/videos")
    assert caplog.records, "the requests above log something"
    logged = caplog.text
    for token in (good, expired):
        for part in token.split("."):
            assert part not in logged


class MultiTenantIssuer(Issuer):
    """Entra ID for a multi-tenant app: one discovery document ("organizations") naming the
    issuer as a template, one set of keys, and an ``iss`` per directory."""

    TEMPLATE = "https://login.example.test/{tenantid}/v2.0"

    def fetch(self, url: str) -> dict:
        self.fetches += 1
        if url.endswith("/.well-known/openid-configuration"):
            assert url == "https://login.example.test/organizations/v2.0/.well-known/openid-configuration"
            return {"issuer": self.TEMPLATE, "jwks_uri": "https://login.example.test/common/keys"}
        return super().fetch(url)

    def token_of(self, tid: str, iss_tid: str | None = None) -> str:
        return self.token(tid=tid, iss=self.TEMPLATE.replace("{tenantid}", iss_tid or tid))


def test_a_multi_tenant_issuer_accepts_each_directory_with_its_own_iss():
    issuer = MultiTenantIssuer()
    validator = TokenValidator(TokenRules(MultiTenantIssuer.TEMPLATE, ("api://app",)), fetch=issuer.fetch)
    assert validator.principal(issuer.token_of("school-one")).tenant_id == "school-one"
    assert validator.principal(issuer.token_of("school-two")).tenant_id == "school-two"
    with pytest.raises(InvalidToken, match="another issuer"):  # a tid claiming another directory's issuer
        validator.principal(issuer.token_of("school-one", iss_tid="school-two"))
    with pytest.raises(InvalidToken, match="another issuer"):
        validator.principal(issuer.token(tid="school-one", iss="https://evil.example/school-one/v2.0"))


def test_only_allowed_directories_may_sign_in():
    from services.identity import NotEntitled

    issuer = MultiTenantIssuer()
    validator = TokenValidator(TokenRules(MultiTenantIssuer.TEMPLATE, ("api://app",),
                                          allowed_tenants=frozenset({"school-one"})), fetch=issuer.fetch)
    assert validator.principal(issuer.token_of("school-one")).tenant_id == "school-one"
    with pytest.raises(NotEntitled, match="not enabled"):
        validator.principal(issuer.token_of("school-two"))


def test_allowed_tenants_setting_is_enforced_over_http(api, app_settings):
    app_settings(AUTH_ALLOWED_TENANTS="school-b, school-c")
    refused = api.get("/api/v1/videos")  # the client signs in for TENANT (school-a)
    assert refused.status_code == 403 and "not enabled" in refused.json()["error"]["message"]
    assert api.get("/api/v1/videos", headers=bearer(tenant="school-c")).status_code == 200
