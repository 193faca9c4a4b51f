"""Record types the video pipeline passes between its steps.

Plain dataclasses; ``to_dict``/``from_dict`` where a record crosses a process
boundary (activity inputs and outputs, queue messages, stored JSON).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from models.speech import Segment, Transcript, Word

__all__ = [
    "ChunkPlan", "ChunkTranscript", "MediaInfo", "Metrics", "Question", "Segment", "Sentence",
    "Transcript", "Word", "words_from_dicts", "words_to_dicts",
]


@dataclass(frozen=True)
class MediaInfo:
    duration_s: float
    has_audio: bool
    format_name: str = ""
    audio_codec: str = ""


@dataclass(frozen=True)
class ChunkPlan:
    """One audio chunk: it covers [start_s, end_s) of the video and *owns* the words
    whose midpoint falls in [own_from_s, own_to_s), so overlapping chunks never
    contribute the same word twice."""

    index: int
    start_s: float
    end_s: float
    own_from_s: float
    own_to_s: float

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "ChunkPlan":
        return cls(**{k: data[k] for k in ("index", "start_s", "end_s", "own_from_s", "own_to_s")})


@dataclass(frozen=True)
class ChunkTranscript:
    """What the worker made of one chunk; word times are relative to the chunk start."""

    index: int
    language: str
    words: tuple[Word, ...]
    segments: tuple[Segment, ...] = ()
    transcribe_s: float = 0.0
    model: str = ""

    def to_dict(self) -> dict:
        return {
            "index": self.index,
            "language": self.language,
            "transcribe_s": self.transcribe_s,
            "model": self.model,
            "words": words_to_dicts(self.words),
            "segments": [{"start": s.start, "end": s.end, "text": s.text} for s in self.segments],
        }

    @classmethod
    def from_dict(cls, data: dict) -> "ChunkTranscript":
        return cls(
            index=int(data["index"]),
            language=data.get("language", ""),
            words=tuple(words_from_dicts(data.get("words", []))),
            segments=tuple(Segment(s["start"], s["end"], s["text"]) for s in data.get("segments", [])),
            transcribe_s=float(data.get("transcribe_s", 0.0)),
            model=data.get("model", ""),
        )


@dataclass(frozen=True)
class Sentence:
    start: float
    end: float
    text: str
    words: tuple[Word, ...] = ()


@dataclass(frozen=True)
class Question:
    start: float
    end: float
    text: str
    label: str  # "OEQ" | "CEQ"
    oeq_probability: float
    wait_time_s: float | None  # silence until anyone speaks, from the audio; None at the end of the recording
    speaker: str = "educator"  # "educator" | "child"
    answered: bool = False  # a child spoke before the educator went on
    model_version: str = ""  # the classifier that labelled it

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Metrics:
    question_count: int
    oeq_count: int
    ceq_count: int
    oeq_ratio: float | None
    questions_per_minute: float
    mean_wait_time_s: float | None
    wait_time_3s_ratio: float | None
    answered_ratio: float | None = None  # share of the educator's questions a child answered

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Gap:
    """A stretch of the recording with no question in it."""

    start: float
    end: float

    @property
    def seconds(self) -> float:
        return round(self.end - self.start, 2)


@dataclass(frozen=True)
class CoachingSummary:
    oeq_share: float | None
    questions_with_3s_wait: int
    questions_with_wait: int
    questions_answered: int = 0
    child_questions: int = 0
    longest_gaps: tuple[Gap, ...] = field(default=())
    text: str = ""

    def to_dict(self) -> dict:
        return {
            "oeq_share": self.oeq_share,
            "questions_with_3s_wait": self.questions_with_3s_wait,
            "questions_with_wait": self.questions_with_wait,
            "questions_answered": self.questions_answered,
            "child_questions": self.child_questions,
            "longest_gaps_without_questions": [
                {"start": g.start, "end": g.end, "seconds": g.seconds} for g in self.longest_gaps
            ],
            "text": self.text,
        }


def words_to_dicts(words) -> list[dict]:
    return [{"start": w.start, "end": w.end, "text": w.text, "probability": w.probability} for w in words]


def words_from_dicts(items) -> list[Word]:
    return [Word(float(d["start"]), float(d["end"]), d["text"], float(d.get("probability", 1.0))) for d in items]
