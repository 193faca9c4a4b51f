"""The identity port: who is calling, from a bearer token the app checks itself.

``TokenValidator`` reads the issuer's OpenID discovery document, fetches its JWKS and
validates access tokens with PyJWT: signature (RS256/ES256 only), issuer, audience,
expiry and not-before with a small clock skew. The same code serves Microsoft Entra ID
(or External ID) in Azure and devhost's local OpenID provider; only AUTH_ISSUER and
AUTH_AUDIENCE differ.

Keys are cached; a token signed with an unknown key id triggers one refresh of the JWKS
(the issuer rotated its keys), at most once per ``refresh_cooldown_s`` so that tokens
with made-up key ids cannot make the app hammer the issuer.

A multi-tenant Entra ID app (each organisation signs in with its own directory) sees one
issuer per directory: AUTH_ISSUER then holds the ``{tenantid}`` placeholder, as Entra's
``organizations`` discovery document does, and a token's ``iss`` must be that template
filled with the token's own ``tid``. ``allowed_tenants`` (AUTH_ALLOWED_TENANTS) limits which
directories may sign in at all.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import urllib.request
from dataclasses import dataclass
from typing import Callable

import jwt

log = logging.getLogger(__name__)

TENANT_PLACEHOLDER = "{tenantid}"
ALGORITHMS = ("RS256", "ES256")  # asymmetric only: never "none", never HS* (a public key is no secret)
ROLES = ("reader", "coach", "admin")
_TENANT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
_USER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@+-]{0,127}")


class InvalidToken(Exception):
    """The token cannot be trusted (401). The message says why, without echoing the token."""


class NotEntitled(Exception):
    """A valid token that does not carry what the app needs (a tenant, a known role): 403."""


class IdentityUnavailable(Exception):
    """The issuer's discovery document or keys cannot be fetched (503)."""


@dataclass(frozen=True)
class Principal:
    tenant_id: str
    user_id: str
    roles: frozenset[str]

    def has_any(self, roles) -> bool:
        return bool(self.roles & set(roles))


@dataclass(frozen=True)
class TokenRules:
    issuer: str
    audiences: tuple[str, ...]
    tenant_claim: str = "tid"
    roles_claim: str = "roles"
    user_claim: str = "oid"
    clock_skew_s: int = 60
    allowed_tenants: frozenset[str] = frozenset()  # empty: any

    @property
    def per_tenant_issuer(self) -> bool:
        return TENANT_PLACEHOLDER in self.issuer

    @property
    def discovery_url(self) -> str:
        # Entra's multi-tenant discovery lives under "organizations" and names the template issuer.
        return f"{self.issuer.replace(TENANT_PLACEHOLDER, 'organizations')}/.well-known/openid-configuration"


def fetch_json(url: str, timeout_s: float = 5.0) -> dict:
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310 - https (or loopback) issuer
        return json.loads(response.read())


class TokenValidator:
    def __init__(self, rules: TokenRules, fetch: Callable[[str], dict] = fetch_json, clock=time.monotonic,
                 keys_max_age_s: float = 3600.0, refresh_cooldown_s: float = 30.0):
        self.rules = rules
        self._fetch = fetch
        self._clock = clock
        self._keys_max_age_s = keys_max_age_s
        self._refresh_cooldown_s = refresh_cooldown_s
        self._lock = threading.Lock()
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None

    def principal(self, token: str) -> Principal:
        """The caller of a valid token, or InvalidToken / NotEntitled / IdentityUnavailable."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise InvalidToken("the bearer token is not a JWT") from None
        if header.get("alg") not in ALGORITHMS:
            raise InvalidToken(f"tokens signed with {str(header.get('alg'))[:16]!r} are not accepted")
        key = self._key(header.get("kid"))
        if key.algorithm_name != header["alg"]:
            raise InvalidToken("the token's algorithm does not match its key")
        try:
            claims = jwt.decode(
                token, key.key, algorithms=[header["alg"]], audience=list(self.rules.audiences),
                # A per-tenant issuer is checked below, against the token's own tenant.
                issuer=None if self.rules.per_tenant_issuer else self.rules.issuer, leeway=self.rules.clock_skew_s,
                options={"require": ["exp", "iss", "aud"], "verify_nbf": True},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidToken("the token has expired") from None
        except jwt.ImmatureSignatureError:
            raise InvalidToken("the token is not valid yet") from None
        except jwt.InvalidAudienceError:
            raise InvalidToken("the token is for another audience") from None
        except jwt.InvalidIssuerError:
            raise InvalidToken("the token is from another issuer") from None
        except jwt.InvalidSignatureError:
            raise InvalidToken("the token's signature does not verify") from None
        except jwt.PyJWTError as error:
            raise InvalidToken(f"the token is invalid ({type(error).__name__})") from None
        if self.rules.per_tenant_issuer:
            self._check_tenant_issuer(claims)
        return self._principal(claims)

    def _check_tenant_issuer(self, claims: dict) -> None:
        tenant = claims.get("tid")
        if not isinstance(tenant, str) or not _TENANT.fullmatch(tenant):
            raise InvalidToken("the token names no directory (tid)")
        if claims.get("iss") != self.rules.issuer.replace(TENANT_PLACEHOLDER, tenant):
            raise InvalidToken("the token is from another issuer")

    def _principal(self, claims: dict) -> Principal:
        tenant = claims.get(self.rules.tenant_claim)
        user = claims.get(self.rules.user_claim) or claims.get("sub")
        if not isinstance(tenant, str) or not _TENANT.fullmatch(tenant):
            raise NotEntitled(f"the token has no usable organisation ({self.rules.tenant_claim!r} claim)")
        if self.rules.allowed_tenants and tenant not in self.rules.allowed_tenants:
            raise NotEntitled("this organisation is not enabled for the app")
        if not isinstance(user, str) or not _USER.fullmatch(user):
            raise NotEntitled(f"the token has no usable user ({self.rules.user_claim!r} claim)")
        raw = claims.get(self.rules.roles_claim) or []
        roles = frozenset(r for r in (raw if isinstance(raw, list) else [raw]) if r in ROLES)
        if not roles:
            raise NotEntitled("the token carries none of the app's roles (reader, coach, admin)")
        return Principal(tenant_id=tenant, user_id=user, roles=roles)

    def _key(self, kid) -> jwt.PyJWK:
        if not isinstance(kid, str) or not kid:
            raise InvalidToken("the token names no signing key (kid)")
        with self._lock:
            now = self._clock()
            stale = self._fetched_at is None or now - self._fetched_at > self._keys_max_age_s
            may_refresh = self._fetched_at is None or now - self._fetched_at > self._refresh_cooldown_s
            if stale or (kid not in self._keys and may_refresh):
                self._refresh(now)
            key = self._keys.get(kid)
        if key is None:
            raise InvalidToken("the token is signed with a key the issuer does not publish")
        return key

    def _refresh(self, now: float) -> None:
        issuer = self.rules.issuer
        try:
            discovery = self._fetch(self.rules.discovery_url)
            if discovery.get("issuer", "").rstrip("/") != issuer.rstrip("/"):
                raise IdentityUnavailable(f"the discovery document of {issuer} names another issuer")
            jwks = self._fetch(discovery["jwks_uri"])
        except IdentityUnavailable:
            raise
        except Exception as error:  # noqa: BLE001 - any failure to reach the issuer is one condition
            log.warning("identity: cannot read the keys of %s: %s", issuer, error)
            if self._keys:  # keep serving with the keys we have; try again after the cooldown
                self._fetched_at = now
                return
            raise IdentityUnavailable(f"the sign-in service's keys cannot be read ({type(error).__name__})") from None
        keys = {}
        for jwk in jwks.get("keys", []):
            try:
                parsed = jwt.PyJWK(jwk)
            except jwt.PyJWTError:
                continue  # a key type or algorithm we do not accept
            if jwk.get("kid") and jwk.get("use", "sig") == "sig" and parsed.algorithm_name in ALGORITHMS:
                keys[jwk["kid"]] = parsed
        self._keys, self._fetched_at = keys, now


def bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer …`` header, or InvalidToken."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    if not authorization:
        raise InvalidToken("sign in: send Authorization: Bearer <token>")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken("the Authorization header must be 'Bearer <token>'")
    return token.strip()
