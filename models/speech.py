"""Timed speech: the words and segments a transcriber produces."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Word:
    start: float
    end: float
    text: str  # as Whisper writes it: leading space, punctuation attached ("  heavy.")
    probability: float = 1.0


@dataclass(frozen=True)
class Segment:
    start: float
    end: float
    text: str
    words: tuple[Word, ...] = ()


@dataclass(frozen=True)
class Transcript:
    language: str
    duration_s: float
    segments: tuple[Segment, ...]
    model: str = ""
    seconds: float = 0.0  # wall time spent transcribing

    @property
    def words(self) -> list[Word]:
        return [w for s in self.segments for w in s.words]
