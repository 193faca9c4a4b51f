"""Who is calling and how often: the token validator and the rate limiter, built once.

The organisation (tenant) and user come from the token's claims only; an
``X-Tenant-Id`` header, or any other header, is ignored.
"""

from __future__ import annotations

import azure.functions as func

from blueprints.dependencies import built_once, settings
from services.identity import Principal, TokenRules, TokenValidator, bearer_token
from services.ratelimit import Quota, RateLimiter
from services.settings import require


@built_once
def validator() -> TokenValidator:
    s = settings()
    require(s, "identity")  # under the Functions host: AUTH_ISSUER, never devhost's provider
    return TokenValidator(TokenRules(issuer=s.issuer, audiences=tuple(s.audiences), tenant_claim=s.auth_tenant_claim,
                                     roles_claim=s.auth_roles_claim, user_claim=s.auth_user_claim,
                                     clock_skew_s=s.auth_clock_skew_s,
                                     allowed_tenants=frozenset(t.strip() for t in s.auth_allowed_tenants.split(",")
                                                               if t.strip())))


@built_once
def limiter() -> RateLimiter:
    s = settings()
    quotas = {"classify": Quota.parse(s.rate_limit_classify_user, s.rate_limit_classify_tenant),
              "upload": Quota.parse(s.rate_limit_upload_user, s.rate_limit_upload_tenant)}
    if s.redis_url:
        return RateLimiter.from_redis_url(quotas, s.redis_url)
    if s.redis_host:  # Azure Cache for Redis with the app's identity, as the cache does
        from services.cache import EntraIdCredentials

        return RateLimiter.from_redis_url(quotas, f"rediss://{s.redis_host}:6380",
                                          credential_provider=EntraIdCredentials())
    return RateLimiter(quotas)


def principal(req: func.HttpRequest) -> Principal:
    return validator().principal(bearer_token(req.headers.get("authorization")))
