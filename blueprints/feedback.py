"""A reviewer's corrected label for a question, stored for retraining the classifier.

POST /api/v1/feedback with either a question of an analysed video
    {"video_id": "…", "question_index": 3, "label": "OEQ", "reviewer": "…", "note": "…"}
or a typed question
    {"text": "How did you build it?", "label": "OEQ"}
stores what the model said beside what the reviewer says, with the signed-in user as
its author. GET /api/v1/feedback lists the newest feedback (``?limit=``, at most 1,000)
for a retraining export: a coach's own, or an admin's whole organisation's.
"""

from __future__ import annotations

import uuid

import azure.functions as func

from blueprints import contract, dependencies
from blueprints.contract import FeedbackList, FeedbackRequest
from blueprints.http import ANY_METHOD, Call, HttpError, current_call, endpoint, json_response
from services.results import FeedbackRecord

bp = func.Blueprint()


@bp.route(route="v1/feedback", methods=ANY_METHOD)
@endpoint(contract.CREATE_FEEDBACK, contract.LIST_FEEDBACK)
def feedback(req: func.HttpRequest) -> func.HttpResponse:
    call = current_call()
    if call.operation is contract.LIST_FEEDBACK:
        author = None if call.is_admin() else call.user_id
        records = dependencies.results().list_feedback(call.tenant_id, call.query.limit, created_by=author)
        return json_response(FeedbackList(feedback=[r.to_dict() for r in records]))
    record = feedback_from(call.body, call)
    dependencies.results().save_feedback(record)
    return json_response(record.to_dict(), status=201)


def feedback_from(request: FeedbackRequest, call: Call) -> FeedbackRecord:
    if request.video_id is not None:
        text, model_label, model_version = _video_question(call.tenant_id, request.video_id, request.question_index)
    else:
        text = request.text
        [prediction] = dependencies.classify_texts([text], tenant_id=call.tenant_id)
        model_label, model_version = prediction.label, prediction.model_version
    return FeedbackRecord(tenant_id=call.tenant_id, feedback_id=uuid.uuid4().hex, text=text, label=request.label,
                          model_label=model_label, model_version=model_version, video_id=request.video_id,
                          question_index=request.question_index, reviewer=request.reviewer, note=request.note,
                          created_by=call.user_id)


def _video_question(tenant_id: str, video_id: str, index: int) -> tuple[str, str, str]:
    analysis = dependencies.results().get_analysis(tenant_id, video_id)
    if analysis is None:
        raise HttpError(404, "not_found", f"no analysed video {video_id}")
    questions = analysis.get("questions", [])
    if not index < len(questions):
        raise HttpError(404, "not_found", f"video {video_id} has {len(questions)} questions; no question {index}")
    question = questions[index]
    # The question's own version: under an A/B split it names the model that labelled it.
    return question["text"], question["label"], (question.get("model_version")
                                                 or analysis.get("models", {}).get("classifier"))
