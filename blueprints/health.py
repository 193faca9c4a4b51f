"""GET /api/health: each dependency's state.

No sign-in needed (probes and load balancers call it). Each dependency is ``ok``,
``degraded`` or ``down`` with a reason, checked at once and within a bounded time. 200 while the app can do its work (a cache that is down only
makes it slower: "degraded"); 503 when the classifier, blobs, results store or job
queue is down — a missing connection setting under the Functions host included.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor, wait

import azure.functions as func

from blueprints import contract, dependencies
from blueprints.contract import Health
from blueprints.http import ANY_METHOD, endpoint, json_response
from models.oeq_ceq.classifier import ModelUnavailable
from services.cache import DependencyHealth
from services.settings import SettingsError

log = logging.getLogger(__name__)
bp = func.Blueprint()


CHECK_TIMEOUT_S = 3.0
# Without these the app cannot do its work; the cache only saves time.
ESSENTIAL = ("classifier", "blobs", "results", "jobs")
_checks = ThreadPoolExecutor(max_workers=8, thread_name_prefix="health")


@bp.route(route="health", methods=ANY_METHOD)
@endpoint(contract.HEALTH)
def health(req: func.HttpRequest) -> func.HttpResponse:
    checks = check_all({"classifier": _classifier_health, "cache": lambda: dependencies.cache().health(),
                        "blobs": lambda: dependencies.blobs().health(),
                        "results": lambda: dependencies.results().health(),
                        "jobs": lambda: dependencies.jobs().health()})
    essential_down = any(c.status == "down" for c in checks if c.name in ESSENTIAL)
    worst = "down" if essential_down else ("degraded" if any(c.status != "ok" for c in checks) else "ok")
    body = Health(status=worst, dependencies={c.name: {"status": c.status, "detail": c.detail} for c in checks})
    return json_response(body, status=503 if worst == "down" else 200)


def check_all(checks: dict, timeout_s: float = CHECK_TIMEOUT_S) -> list[DependencyHealth]:
    """Every check at once, each bounded: a dependency that hangs is reported, not waited for."""
    futures = {name: _checks.submit(_guarded, name, check) for name, check in checks.items()}
    wait(futures.values(), timeout=timeout_s)
    return [future.result() if future.done() else
            DependencyHealth(name, "down", f"no answer within {timeout_s:g} s")
            for name, future in futures.items()]


def _guarded(name: str, check) -> DependencyHealth:
    try:
        result = check()
    except SettingsError as error:
        return DependencyHealth(name, "down", str(error))
    except Exception as error:  # noqa: BLE001 - a health check reports, it never raises
        return DependencyHealth(name, "down", f"{type(error).__name__}: {error}")
    return DependencyHealth(name, result.status, result.detail)


def _classifier_health() -> DependencyHealth:
    try:
        model = dependencies.classifier()
    except ModelUnavailable as error:
        return DependencyHealth("classifier", "down", str(error))
    return DependencyHealth("classifier", "ok", f"{model.version} on {model.providers[0]}")


def report_missing_connections() -> None:
    """At start: say loudly what the Functions host lacks (the functions that need it
    fail with the same sentence, and /api/health reports it)."""
    try:
        missing = dependencies.settings().missing_connections()
    except SettingsError as error:
        missing = [str(error)]
    for problem in missing:
        log.error("setting missing or unusable - %s", problem)


report_missing_connections()
