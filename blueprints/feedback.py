"""A reviewer's corrected label for a question, stored for retraining the classifier.

POST /api/v1/feedback with either a question of an analysed video
    {"video_id": "…", "question_index": 3, "label": "OEQ", "reviewer": "…", "note": "…"}
or a typed question
    {"text": "How did you build it?", "label": "OEQ"}
stores what the model said beside what the reviewer says. GET /api/v1/feedback lists
the tenant's newest feedback (``?limit=``, at most 1,000) for a retraining export.
"""

from __future__ import annotations

import uuid

import azure.functions as func

from blueprints import dependencies
from blueprints.classify import MAX_TEXT_CHARS
from blueprints.http import ANY_METHOD, HttpError, endpoint, json_body, json_response
from blueprints.videos import tenant_of
from models.oeq_ceq.classifier import LABELS
from services.results import FeedbackRecord

bp = func.Blueprint()
MAX_LISTED = 1000


@bp.route(route="v1/feedback", methods=ANY_METHOD)
@endpoint("POST", "GET")
def feedback(req: func.HttpRequest) -> func.HttpResponse:
    tenant_id = tenant_of(req)
    if req.method.upper() == "GET":
        limit = _limit(req.params.get("limit", "100"))
        return json_response({"feedback": [f.to_dict() for f in dependencies.results().list_feedback(tenant_id, limit)]})
    record = feedback_from(json_body(req), tenant_id)
    dependencies.results().save_feedback(record)
    return json_response(record.to_dict(), status=201)


def feedback_from(payload: dict, tenant_id: str) -> FeedbackRecord:
    label = payload.get("label")
    if label not in LABELS:
        raise HttpError(400, "invalid_request", f'"label" must be one of {", ".join(LABELS)}')
    reviewer, note = _optional_text(payload, "reviewer", 200), _optional_text(payload, "note", 2000)
    if "video_id" in payload:
        text, model_label, model_version, index = _video_question(payload, tenant_id)
        video_id = payload["video_id"]
    else:
        text = payload.get("text")
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT_CHARS:
            raise HttpError(400, "invalid_request", f'send "text" (1-{MAX_TEXT_CHARS} characters) or '
                                                    '"video_id" with "question_index"')
        [prediction] = dependencies.classify_texts([text])
        model_label, model_version, video_id, index = prediction.label, dependencies.classifier().version, None, None
    return FeedbackRecord(tenant_id=tenant_id, feedback_id=uuid.uuid4().hex, text=text, label=label,
                          model_label=model_label, model_version=model_version, video_id=video_id,
                          question_index=index, reviewer=reviewer, note=note)


def _video_question(payload: dict, tenant_id: str) -> tuple[str, str, str, int]:
    video_id, index = payload.get("video_id"), payload.get("question_index")
    if not isinstance(video_id, str) or not isinstance(index, int) or isinstance(index, bool):
        raise HttpError(400, "invalid_request", '"video_id" (a string) needs "question_index" (an integer)')
    analysis = dependencies.results().get_analysis(tenant_id, video_id)
    if analysis is None:
        raise HttpError(404, "not_found", f"no analysed video {video_id[:64]!r}")
    questions = analysis.get("questions", [])
    if not 0 <= index < len(questions):
        raise HttpError(404, "not_found", f"video {video_id} has {len(questions)} questions; no question {index}")
    question = questions[index]
    return question["text"], question["label"], analysis.get("models", {}).get("classifier"), index


def _optional_text(payload: dict, name: str, limit: int) -> str:
    value = payload.get(name, "")
    if not isinstance(value, str) or len(value) > limit:
        raise HttpError(400, "invalid_request", f'"{name}" must be a string of at most {limit} characters')
    return value


def _limit(raw: str) -> int:
    try:
        limit = int(raw)
    except ValueError:
        raise HttpError(400, "invalid_request", "limit must be a whole number") from None
    if not 1 <= limit <= MAX_LISTED:
        raise HttpError(400, "invalid_request", f"limit must be between 1 and {MAX_LISTED}")
    return limit
