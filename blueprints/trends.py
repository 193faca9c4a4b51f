"""Trends: an educator's or a classroom's question metrics across their analysed videos.

GET /api/v1/trends?by=educator|classroom&key=NAME answers one point per completed video
(OEQ share, mean wait time, questions per minute, answered share), oldest recording first;
GET /api/v1/trends/subjects lists the educators and classrooms named at upload. The
results store selects and orders (services/results.py); any signed-in role may read, and
only its own organisation's videos.
"""

from __future__ import annotations

import azure.functions as func

from blueprints import contract, dependencies
from blueprints.http import ANY_METHOD, current_call, endpoint, json_response

bp = func.Blueprint()


@bp.route(route="v1/trends", methods=ANY_METHOD)
@endpoint(contract.GET_TREND)
def trend(req: func.HttpRequest) -> func.HttpResponse:
    call = current_call()
    points = dependencies.results().trend(call.tenant_id, call.query.by, call.query.key)
    return json_response(contract.Trend(by=call.query.by, key=call.query.key, points=[p.to_dict() for p in points]))


@bp.route(route="v1/trends/subjects", methods=ANY_METHOD)
@endpoint(contract.LIST_TREND_SUBJECTS)
def trend_subjects(req: func.HttpRequest) -> func.HttpResponse:
    subjects = dependencies.results().trend_subjects(current_call().tenant_id)
    return json_response(contract.TrendSubjects(educators=subjects["educator"], classrooms=subjects["classroom"]))
