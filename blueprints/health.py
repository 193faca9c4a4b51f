"""GET /api/health: each dependency's state.

No sign-in needed (probes and load balancers call it). 200 while the app can answer
(a cache that is down only makes it slower: "degraded"); 503 when the classifier
cannot load.
"""

from __future__ import annotations

import azure.functions as func

from blueprints import contract, dependencies
from blueprints.contract import Health
from blueprints.http import ANY_METHOD, endpoint, json_response
from models.oeq_ceq.classifier import ModelUnavailable
from services.cache import DependencyHealth

bp = func.Blueprint()


@bp.route(route="health", methods=ANY_METHOD)
@endpoint(contract.HEALTH)
def health(req: func.HttpRequest) -> func.HttpResponse:
    checks = [_classifier_health(), dependencies.cache().health()]
    worst = "down" if any(c.status == "down" for c in checks) else (
        "degraded" if any(c.status == "degraded" for c in checks) else "ok"
    )
    body = Health(status=worst, dependencies={c.name: {"status": c.status, "detail": c.detail} for c in checks})
    return json_response(body, status=503 if worst == "down" else 200)


def _classifier_health() -> DependencyHealth:
    try:
        model = dependencies.classifier()
    except ModelUnavailable as error:
        return DependencyHealth("classifier", "down", str(error))
    return DependencyHealth("classifier", "ok", f"{model.version} on {model.providers[0]}")
