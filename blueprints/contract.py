"""The HTTP API's contract: request and response models (pydantic v2) and the operations.

The handlers validate requests with these models and shape responses with them, and
``openapi.py`` builds the published OpenAPI 3.1 document from the same objects, so the
document cannot drift from what the code accepts. Field bounds live here, once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from pydantic_core import PydanticCustomError

MAX_TEXTS = 256
MAX_TEXT_CHARS = 2000
MAX_LISTED_FEEDBACK = 1000
VIDEO_ID_PATTERN = r"^[a-f0-9]{32}$"
TENANT_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
VIDEO_EXTENSIONS = ("mp4", "mov", "m4v", "webm", "mkv", "avi", "mpeg", "wav", "mp3", "m4a", "aac", "ogg", "flac")
LABELS = ("CEQ", "OEQ")
FEEDBACK_LABELS = ("CEQ", "OEQ", "NOT_QUESTION")  # NOT_QUESTION: the detector was wrong

READ = frozenset({"reader", "coach", "admin"})
WRITE = frozenset({"coach", "admin"})
ADMIN = frozenset({"admin"})


def _any_case(word: str) -> str:
    """ECMA-262 regexes (JSON Schema's) have no inline (?i): spell both cases out."""
    return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else c for c in word)


FILENAME_PATTERN = r"^[^/\\]*\.(" + "|".join(_any_case(e) for e in VIDEO_EXTENSIONS) + r")$"

Text = Annotated[str, StringConstraints(min_length=1, max_length=MAX_TEXT_CHARS, pattern=r"\S")]


class Request(BaseModel):
    """A request body or query: strict types, unknown fields refused."""

    model_config = ConfigDict(strict=True, extra="forbid")
    # pydantic error type -> the API's error code (anything else: invalid_request).
    error_codes: ClassVar[dict[str, str]] = {}


# --- classification -----------------------------------------------------------------------


class ClassifyRequest(Request):
    """Exactly one of ``text`` or ``texts``."""

    model_config = ConfigDict(strict=True, extra="forbid", json_schema_extra={
        "oneOf": [{"required": ["text"]}, {"required": ["texts"]}],
        "examples": [{"text": "What do you think will happen?"}, {"texts": ["Is it red?", "Why did it fall?"]}]})
    error_codes: ClassVar[dict[str, str]] = {
        "string_too_short": "empty_text", "string_pattern_mismatch": "empty_text",
        "string_too_long": "text_too_long", "too_long": "too_many_texts"}

    # Optional by absence: a default of None is not validated, an explicit null is refused,
    # and neither the schema nor the error messages carry a null branch.
    text: Text = None  # type: ignore[assignment]
    texts: Annotated[list[Text], Field(min_length=1, max_length=MAX_TEXTS)] = None  # type: ignore[assignment]

    @model_validator(mode="after")
    def exactly_one(self):
        if (self.text is None) == (self.texts is None):
            raise PydanticCustomError("invalid_request",
                                      'send exactly one of "text" (a string) or "texts" (a list of strings)')
        return self

    def all_texts(self) -> list[str]:
        return [self.text] if self.text is not None else list(self.texts)


class Classification(BaseModel):
    text: str
    label: Literal["CEQ", "OEQ"]
    oeq_probability: Annotated[float, Field(ge=0, le=1)]


class ClassifyResponse(BaseModel):
    model_version: str
    results: list[Classification]


class ModelInfo(BaseModel):
    name: str
    version: str
    task: str
    labels: list[str]
    created_at: str
    training_data_sha256: str
    metrics: dict[str, Any]
    providers: list[str]


class ModelList(BaseModel):
    models: list[ModelInfo]


# --- videos ---------------------------------------------------------------------------------


class SpeakerOverrides(Request):
    """How to tell the educator from the children in this video, when the default rule
    (the adult-pitched voice with the most speech) gets it wrong."""

    educator: Annotated[Literal["most-speech", "pitch", "everyone"], Field(
        description="most-speech: the adult voice that speaks most; pitch: every adult-pitched voice; "
                    "everyone: all speech is the educator's")] = "most-speech"
    child_pitch_hz: Annotated[float, Field(gt=80, lt=600, description="median pitch at or above which a voice "
                                                                      "counts as a child's", examples=[300])] = 250.0


class CreateUpload(Request):
    error_codes: ClassVar[dict[str, str]] = {"string_pattern_mismatch": "unsupported_file_type",
                                              "invalid_date": "invalid_date"}

    filename: Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=FILENAME_PATTERN),
                        Field(description=f"a video or audio file name ({', '.join(VIDEO_EXTENSIONS)})",
                              examples=["lesson.mp4"])] = "video.mp4"
    # What the coach says of the recording: stored on the video, shown in lists, used for trends.
    title: Annotated[str, Field(max_length=200, examples=["Sink or float"])] = ""
    educator: Annotated[str, Field(max_length=200, examples=["Ms Rivera"])] = ""
    classroom: Annotated[str, Field(max_length=200, examples=["Room 3"])] = ""
    recorded_on: Annotated[str, Field(max_length=10, description="the recording's date, YYYY-MM-DD",
                                      json_schema_extra={"anyOf": [{"format": "date"}, {"const": ""}]},
                                      examples=["2026-11-30"])] = ""
    speakers: Annotated[SpeakerOverrides, Field(description="override who counts as the educator")] = None

    @model_validator(mode="after")
    def tidy(self):
        if self.recorded_on:
            try:
                date.fromisoformat(self.recorded_on)
            except ValueError:
                raise PydanticCustomError("invalid_date", "recorded_on must be a date, YYYY-MM-DD") from None
        # Names are matched exactly for trends: "Ms Rivera " and "Ms Rivera" are one educator.
        for name in ("title", "educator", "classroom"):
            object.__setattr__(self, name, " ".join(getattr(self, name).split()))
        return self


class UploadCreated(BaseModel):
    video_id: Annotated[str, Field(pattern=VIDEO_ID_PATTERN)]
    upload_url: str
    upload_headers: dict[str, str]
    expires_at: str


class VideoStatus(BaseModel):
    video_id: Annotated[str, Field(pattern=VIDEO_ID_PATTERN)]
    status: Literal["queued", "processing", "completed", "failed"]
    stage: str
    progress: Annotated[float, Field(ge=0, le=1)]
    error: str | None = None
    filename: str
    duration_s: float | None = None
    metrics: dict[str, Any] | None = None
    created_at: str
    updated_at: str
    chunks_done: int | None = None
    chunks_total: int | None = None
    title: str = ""
    educator: str = ""
    classroom: str = ""
    recorded_on: str = ""


class VideoList(BaseModel):
    videos: list[VideoStatus]


class VideoAnalysis(BaseModel):
    """DESIGN.md's VideoAnalysis; further fields may appear."""

    model_config = ConfigDict(extra="allow")

    video_id: str
    tenant_id: str
    status: str
    duration_s: float | None = None
    language: str | None = None
    models: dict[str, Any] = {}
    segments: list[dict[str, Any]] = []
    questions: list[dict[str, Any]] = []
    metrics: dict[str, Any] = {}
    timings: dict[str, Any] = {}


class MediaUrl(BaseModel):
    url: Annotated[str, Field(description="a read-only URL for the recording (range requests work); expires")]
    expires_at: str
    content_type: str


class VideoDeleted(BaseModel):
    video_id: str
    deleted: bool


# --- feedback -------------------------------------------------------------------------------


class FeedbackRequest(Request):
    """A question of an analysed video (``video_id`` + ``question_index``) or a typed ``text``."""

    model_config = ConfigDict(strict=True, extra="forbid", json_schema_extra={
        "oneOf": [{"required": ["video_id", "question_index"], "not": {"required": ["text"]}},
                  {"required": ["text"], "not": {"anyOf": [{"required": ["video_id"]},
                                                           {"required": ["question_index"]}]}}]})

    label: Annotated[Literal["CEQ", "OEQ", "NOT_QUESTION"],
                     Field(description="the reviewer's label; NOT_QUESTION: the detected question is no question")]
    video_id: Annotated[str, Field(pattern=VIDEO_ID_PATTERN)] = None  # type: ignore[assignment]
    question_index: Annotated[int, Field(ge=0, le=100_000)] = None  # type: ignore[assignment]
    text: Text = None  # type: ignore[assignment]
    reviewer: Annotated[str, Field(max_length=200)] = ""
    note: Annotated[str, Field(max_length=2000)] = ""

    @model_validator(mode="after")
    def one_subject(self):
        about_video = self.video_id is not None or self.question_index is not None
        if about_video == (self.text is not None) or (about_video and None in (self.video_id, self.question_index)):
            raise PydanticCustomError("invalid_request", f'send "text" (1-{MAX_TEXT_CHARS} characters), or '
                                                         '"video_id" (a string) with "question_index" (an integer)')
        return self


class FeedbackQuery(Request):
    model_config = ConfigDict(strict=False, extra="ignore")  # query values arrive as strings

    limit: Annotated[int, Field(ge=1, le=MAX_LISTED_FEEDBACK)] = 100


class Feedback(BaseModel):
    tenant_id: str
    feedback_id: str
    text: str
    label: Literal["CEQ", "OEQ", "NOT_QUESTION"]
    model_label: str | None = None
    model_version: str | None = None
    video_id: str | None = None
    question_index: int | None = None
    reviewer: str = ""
    note: str = ""
    created_by: str = ""
    created_at: float


class FeedbackList(BaseModel):
    feedback: list[Feedback]


# --- trends -----------------------------------------------------------------------------------


class TrendsQuery(Request):
    model_config = ConfigDict(strict=False, extra="ignore")  # query values arrive as strings

    by: Annotated[Literal["educator", "classroom"], Field(description="whose trend")]
    key: Annotated[str, StringConstraints(min_length=1, max_length=200),
                   Field(description="the educator's or classroom's name, as given at upload")]


class TrendPoint(BaseModel):
    video_id: str
    recorded_on: Annotated[str, Field(description="the recording date (the upload's date when none was given)")]
    title: str
    filename: str
    duration_s: float | None
    question_count: int
    oeq_ratio: float | None
    mean_wait_time_s: float | None
    questions_per_minute: float | None
    answered_ratio: float | None


class Trend(BaseModel):
    by: Literal["educator", "classroom"]
    key: str
    points: list[TrendPoint]


class TrendSubjects(BaseModel):
    educators: list[str]
    classrooms: list[str]


# --- the tenant (GDPR erasure) --------------------------------------------------------------


class EraseQuery(Request):
    model_config = ConfigDict(strict=False, extra="ignore")

    confirm: Annotated[str, Field(pattern=TENANT_PATTERN,
                                  description="the caller's own tenant id, repeated to confirm the erasure")]


class Erasure(BaseModel):
    tenant_id: str
    videos: int
    blobs: int
    documents: int
    cache_entries: int


# --- health and errors ------------------------------------------------------------------------


class DependencyState(BaseModel):
    status: Literal["ok", "degraded", "down"]
    detail: str


class Health(BaseModel):
    status: Literal["ok", "degraded", "down"]
    dependencies: dict[str, DependencyState]


class ErrorBody(BaseModel):
    code: str
    message: str


class Error(BaseModel):
    error: ErrorBody


# --- operations ---------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)  # each operation is one of its kind: identity is equality
class Operation:
    """One method on one route: who may call it, what it takes and what it answers."""

    operation_id: str
    method: str
    path: str  # under /api, e.g. "/v1/videos/{video_id}"
    summary: str
    roles: frozenset[str] | None  # None: no sign-in needed
    ok: tuple[int, type[BaseModel] | None]
    body: type[Request] | None = None
    body_required: bool = True
    query: type[Request] | None = None
    errors: tuple[int, ...] = ()
    rate_limit: str | None = None  # an action of services.ratelimit
    description: str = ""
    extra_ok: dict[int, type[BaseModel]] = field(default_factory=dict)

    @property
    def path_parameters(self) -> list[str]:
        return [part[1:-1] for part in self.path.split("/") if part.startswith("{")]


CLASSIFY = Operation("classify", "POST", "/v1/classify", "Classify typed questions as OEQ or CEQ", READ,
                     (200, ClassifyResponse), body=ClassifyRequest, errors=(400, 413, 429, 503),
                     rate_limit="classify")
LIST_MODELS = Operation("listModels", "GET", "/v1/models", "The served classifier", READ, (200, ModelList),
                        errors=(503,))
CREATE_VIDEO = Operation("createVideo", "POST", "/v1/videos", "Create an upload for a video", WRITE,
                         (201, UploadCreated), body=CreateUpload, body_required=False, errors=(400, 413, 429),
                         rate_limit="upload",
                         description="PUT the file to upload_url with upload_headers; the pipeline starts by itself.")
LIST_VIDEOS = Operation("listVideos", "GET", "/v1/videos", "The organisation's 50 most recent videos", READ,
                        (200, VideoList))
GET_VIDEO = Operation("getVideo", "GET", "/v1/videos/{video_id}", "A video's status and progress", READ,
                      (200, VideoStatus), errors=(404,))
DELETE_VIDEO = Operation("deleteVideo", "DELETE", "/v1/videos/{video_id}",
                         "Delete a video, its chunks, results and cache entries", WRITE, (200, VideoDeleted),
                         errors=(404,), description="coaches delete the videos they uploaded; admins any video.")
GET_MEDIA = Operation("getVideoMedia", "GET", "/v1/videos/{video_id}/media",
                      "A short-lived read-only URL of the recording, for playing it", READ, (200, MediaUrl),
                      errors=(404,), description="404 until the upload has landed, and after deletion.")
GET_TREND = Operation("getTrend", "GET", "/v1/trends", "An educator's or a classroom's metrics across videos", READ,
                      (200, Trend), query=TrendsQuery, errors=(400,),
                      description="One point per analysed video, oldest recording first (at most 500, the latest).")
LIST_TREND_SUBJECTS = Operation("listTrendSubjects", "GET", "/v1/trends/subjects",
                                "The educators and classrooms named at upload", READ, (200, TrendSubjects))
GET_ANALYSIS = Operation("getAnalysis", "GET", "/v1/videos/{video_id}/analysis", "A video's analysis", READ,
                         (200, VideoAnalysis), errors=(404, 409))
CREATE_FEEDBACK = Operation("createFeedback", "POST", "/v1/feedback", "A reviewer's corrected label", WRITE,
                            (201, Feedback), body=FeedbackRequest, errors=(400, 404, 413, 503))
LIST_FEEDBACK = Operation("listFeedback", "GET", "/v1/feedback", "Newest feedback, for retraining", WRITE,
                          (200, FeedbackList), query=FeedbackQuery, errors=(400,),
                          description="coaches see their own feedback; admins the organisation's.")
ERASE_TENANT = Operation("eraseTenant", "DELETE", "/v1/tenant",
                         "Erase the organisation's data (GDPR): every video, result, feedback, chunk and cache entry",
                         ADMIN, (200, Erasure), query=EraseQuery, errors=(400,))
# (503 on erasure: the cache was down; everything else was erased and the request can be repeated.)
HEALTH = Operation("health", "GET", "/health", "Each dependency's state", None, (200, Health),
                   extra_ok={503: Health})
OPENAPI = Operation("openapi", "GET", "/openapi.json", "This document", None, (200, None))

OPERATIONS = (CLASSIFY, LIST_MODELS, CREATE_VIDEO, LIST_VIDEOS, GET_VIDEO, DELETE_VIDEO, GET_ANALYSIS, GET_MEDIA,
              GET_TREND, LIST_TREND_SUBJECTS, CREATE_FEEDBACK, LIST_FEEDBACK, ERASE_TENANT, HEALTH, OPENAPI)
