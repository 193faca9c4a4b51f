"""devhost's local OpenID provider: what Entra ID is to the app in Azure, on loopback.

Served by ``python -m devhost serve`` under ``/devhost/identity`` (the issuer):

    GET  /.well-known/openid-configuration   discovery
    GET  /jwks                               its public signing key
    GET  /authorize                          a small login form (Tenant, User, Role; no password:
                                             a development provider, loopback only)
    POST /authorize                          → 302 to the client's redirect_uri with ?code&state
    POST /token                              authorization_code + PKCE (S256 only) → access and ID tokens

Its RSA key is created once and kept in ``.devhost/identity/signing-key.pem``
(DEVHOST_IDENTITY_DIR), so tokens survive a restart. Access tokens carry the claims
Entra ID's do (``tid``, ``oid``, ``roles``), so the app's validation code is the same.
``mint_token`` is what ``python -m devhost token`` and the tests use.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import os
import re
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from devhost.asgi import read_body, send_response
from services.identity import ROLES

PATH_PREFIX = "devhost/identity"
TOKEN_LIFETIME_S = 3600
CODE_LIFETIME_S = 120
_TENANT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
_USER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@+-]{0,127}")
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


class IdentityError(ValueError):
    """A bad request to the provider; the message is safe to show."""


def identity_dir() -> Path:
    return Path(os.environ.get("DEVHOST_IDENTITY_DIR") or ".devhost/identity").expanduser().resolve()


@dataclass(frozen=True)
class SigningKey:
    private_key: rsa.RSAPrivateKey
    kid: str

    def public_jwk(self) -> dict:
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.private_key.public_key()))
        return {**jwk, "kid": self.kid, "use": "sig", "alg": "RS256"}


_key_lock = threading.Lock()


def signing_key(folder: Path | None = None) -> SigningKey:
    """The provider's key, created on first use (mode 0600)."""
    path = (folder or identity_dir()) / "signing-key.pem"
    with _key_lock:
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
            temp = path.with_suffix(".tmp")
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(pem)
            os.replace(temp, path)
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    return SigningKey(key, _thumbprint(key.public_key()))


def _thumbprint(public_key) -> str:
    """RFC 7638 JWK thumbprint: the key id changes exactly when the key does."""
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(public_key))
    canonical = json.dumps({"e": jwk["e"], "kty": "RSA", "n": jwk["n"]}, separators=(",", ":"), sort_keys=True)
    return _b64(hashlib.sha256(canonical.encode()).digest())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def check_identity(tenant: str, user: str, role: str) -> None:
    if not _TENANT.fullmatch(tenant or ""):
        raise IdentityError("Tenant must be 1-64 letters, digits, '-' or '_'")
    if not _USER.fullmatch(user or ""):
        raise IdentityError("User must be 1-128 letters, digits or . @ + - _")
    if role not in ROLES:
        raise IdentityError(f"role must be one of {', '.join(ROLES)}")


def access_claims(tenant: str, user: str, roles: list[str], issuer: str, audience: str,
                  lifetime_s: int = TOKEN_LIFETIME_S, now: float | None = None) -> dict:
    issued = int(time.time() if now is None else now)
    return {"iss": issuer, "aud": audience, "sub": user, "oid": user, "tid": tenant, "roles": roles,
            "iat": issued, "nbf": issued, "exp": issued + lifetime_s, "jti": secrets.token_hex(8)}


def sign(claims: dict, key: SigningKey | None = None) -> str:
    key = key or signing_key()
    return jwt.encode(claims, key.private_key, algorithm="RS256", headers={"kid": key.kid, "typ": "JWT"})


def mint_token(tenant: str, user: str, role: str = "coach", *, issuer: str, audience: str,
               lifetime_s: int = TOKEN_LIFETIME_S, key: SigningKey | None = None) -> str:
    """An access token as the provider's token endpoint would issue it."""
    check_identity(tenant, user, role)
    return sign(access_claims(tenant, user, [role], issuer, audience, lifetime_s), key)


# --- the provider over HTTP ------------------------------------------------------------------


@dataclass(frozen=True)
class _Grant:
    client_id: str
    redirect_uri: str
    code_challenge: str
    nonce: str | None
    tenant: str
    user: str
    role: str
    expires_at: float


class IdentityProvider:
    """The ASGI side. ``issuer`` and ``audience`` come from the app's settings so that
    the tokens it issues are the ones the app accepts."""

    def __init__(self, settings_source):
        self._settings = settings_source  # a callable returning services.settings.Settings
        self._codes: dict[str, _Grant] = {}
        self._lock = threading.Lock()

    @property
    def issuer(self) -> str:
        return self._settings().issuer

    def discovery(self) -> dict:
        issuer = self.issuer
        return {
            "issuer": issuer,
            "authorization_endpoint": f"{issuer}/authorize",
            "token_endpoint": f"{issuer}/token",
            "jwks_uri": f"{issuer}/jwks",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code"],
            "code_challenge_methods_supported": ["S256"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["none"],
            "scopes_supported": ["openid", "profile"],
            "claims_supported": ["sub", "oid", "tid", "roles", "name"],
        }

    async def __call__(self, scope, receive, send) -> None:
        sub_path = scope["path"].strip("/")[len(PATH_PREFIX):].strip("/")
        method = scope["method"].upper()
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        try:
            if sub_path == ".well-known/openid-configuration" and method == "GET":
                await _json(send, 200, self.discovery())
            elif sub_path == "jwks" and method == "GET":
                await _json(send, 200, {"keys": [signing_key().public_jwk()]})
            elif sub_path == "authorize" and method == "GET":
                self._authorization_request(query)
                await _html(send, 200, login_form(query), form_csp(query["redirect_uri"]))
            elif sub_path == "authorize" and method == "POST":
                form = dict(parse_qsl((await read_body(receive, 64 * 1024) or b"").decode("utf-8", "replace")))
                await _redirect(send, self.authorize(form))
            elif sub_path == "token" and method == "POST":
                form = dict(parse_qsl((await read_body(receive, 64 * 1024) or b"").decode("utf-8", "replace")))
                await _json(send, 200, self.token(form), {"cache-control": "no-store"})
            else:
                await _json(send, 404, {"error": "not_found", "error_description": f"no {method} {sub_path}"})
        except IdentityError as error:
            await _json(send, 400, {"error": error.args[1] if len(error.args) > 1 else "invalid_request",
                                    "error_description": error.args[0]})

    def _authorization_request(self, params: dict) -> None:
        if params.get("response_type") != "code":
            raise IdentityError("response_type must be 'code'", "unsupported_response_type")
        if not params.get("client_id"):
            raise IdentityError("client_id is required")
        redirect = urlsplit(params.get("redirect_uri", ""))
        try:
            redirect.port  # noqa: B018 - raises on a malformed port
        except ValueError:
            raise IdentityError("redirect_uri has a malformed port") from None
        # A development provider: it only ever sends codes back to this machine.
        if redirect.scheme not in ("http", "https") or redirect.hostname not in _LOOPBACK or "@" in redirect.netloc:
            raise IdentityError("redirect_uri must be an http(s) address on this machine (loopback)")
        if params.get("code_challenge_method") != "S256" or not params.get("code_challenge"):
            raise IdentityError("PKCE is required: code_challenge with code_challenge_method=S256")

    def authorize(self, form: dict) -> str:
        """The login form's answer: a one-use code, sent back to the client's redirect_uri."""
        self._authorization_request(form)
        tenant, user, role = form.get("tenant", "").strip(), form.get("user", "").strip(), form.get("role", "coach")
        check_identity(tenant, user, role)
        code = secrets.token_urlsafe(32)
        with self._lock:
            self._forget_expired()
            self._codes[code] = _Grant(form["client_id"], form["redirect_uri"], form["code_challenge"],
                                       form.get("nonce") or None, tenant, user, role, time.time() + CODE_LIFETIME_S)
        answer = {"code": code, **({"state": form["state"]} if form.get("state") else {})}
        separator = "&" if "?" in form["redirect_uri"] else "?"
        return f"{form['redirect_uri']}{separator}{urlencode(answer)}"

    def token(self, form: dict) -> dict:
        if form.get("grant_type") != "authorization_code":
            raise IdentityError("grant_type must be authorization_code", "unsupported_grant_type")
        with self._lock:
            self._forget_expired()
            grant = self._codes.pop(form.get("code", ""), None)  # one use, even when the rest is wrong
        if grant is None:
            raise IdentityError("the code is unknown, used or expired", "invalid_grant")
        if form.get("client_id") != grant.client_id or form.get("redirect_uri") != grant.redirect_uri:
            raise IdentityError("client_id or redirect_uri differ from the authorization request", "invalid_grant")
        verifier = form.get("code_verifier", "")
        if not 43 <= len(verifier) <= 128 or _b64(hashlib.sha256(verifier.encode()).digest()) != grant.code_challenge:
            raise IdentityError("code_verifier does not match the code_challenge", "invalid_grant")
        settings = self._settings()
        key = signing_key()
        access = sign(access_claims(grant.tenant, grant.user, [grant.role], self.issuer, settings.audiences[0]), key)
        id_claims = {**access_claims(grant.tenant, grant.user, [grant.role], self.issuer, grant.client_id),
                     "name": grant.user, **({"nonce": grant.nonce} if grant.nonce else {})}
        return {"access_token": access, "id_token": sign(id_claims, key), "token_type": "Bearer",
                "expires_in": TOKEN_LIFETIME_S, "scope": "openid profile"}

    def _forget_expired(self) -> None:
        now = time.time()
        for code in [c for c, g in self._codes.items() if g.expires_at < now]:
            del self._codes[code]


def form_csp(redirect_uri: str) -> str:
    """The login page may post to itself and be redirected to the client (form-action covers redirects)."""
    parts = urlsplit(redirect_uri)  # checked: loopback host, numeric port
    host = f"[{parts.hostname}]" if ":" in (parts.hostname or "") else parts.hostname
    origin = f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "")
    return f"default-src 'none'; style-src 'unsafe-inline'; form-action 'self' {origin}; frame-ancestors 'none'"


def login_form(params: dict) -> str:
    hidden = "".join(
        f'<input type="hidden" name="{name}" value="{html.escape(params[name], quote=True)}">'
        for name in ("response_type", "client_id", "redirect_uri", "state", "code_challenge",
                     "code_challenge_method", "nonce", "scope") if params.get(name))
    roles = "".join(f'<option value="{r}"{" selected" if r == "coach" else ""}>{r}</option>' for r in ROLES)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in (devhost)</title>
<style>body{{font:16px system-ui;max-width:22rem;margin:4rem auto}}label{{display:block;margin:.8rem 0}}
input,select{{display:block;width:100%;padding:.4rem}}button{{margin-top:1rem;padding:.5rem 1rem}}</style></head>
<body><h1>Sign in</h1><p>devhost's local sign-in: no password, for this machine only.</p>
<form method="post" action="authorize">{hidden}
<label for="tenant">Tenant</label><input id="tenant" name="tenant" required pattern="[A-Za-z0-9][A-Za-z0-9_\\-]{{0,63}}">
<label for="user">User</label><input id="user" name="user" required>
<label for="role">Role</label><select id="role" name="role">{roles}</select>
<button type="submit">Sign in</button></form></body></html>"""


SECURITY_HEADERS = {"x-content-type-options": "nosniff", "x-frame-options": "DENY",
                    "referrer-policy": "no-referrer"}


async def _json(send, status: int, payload: dict, headers: dict | None = None) -> None:
    await send_response(send, status, {"content-type": "application/json", **SECURITY_HEADERS,
                                       "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
                                       **(headers or {})}, json.dumps(payload).encode())


async def _html(send, status: int, page: str, csp: str) -> None:
    await send_response(send, status, {"content-type": "text/html; charset=utf-8", **SECURITY_HEADERS,
                                       "content-security-policy": csp, "cache-control": "no-store"},
                        page.encode())


async def _redirect(send, location: str) -> None:
    await send_response(send, 302, {"location": location, **SECURITY_HEADERS, "cache-control": "no-store"}, b"")
