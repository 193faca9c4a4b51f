"""Media handling with ffmpeg: check an upload, plan its audio chunks, cut them.

Why this module exists: an upload is whatever a phone, a camera or a browser made,
and it is the first thing in the pipeline that can be wrong. ``probe`` turns every
bad file into a ``MediaError`` whose message is one sentence a coach can act on
("the video has no audio track"), so the orchestrator can fail the video cleanly
and the API can show the reason as is. ``plan_chunks`` and ``cut_chunk`` split the
audio into overlapping 16 kHz mono WAV chunks the transcriber fans out over; the
overlap keeps words at a cut from being lost, and each chunk's *ownership* interval
says which copy of a duplicated word to keep.

Sources are local paths or http(s) URLs (a Blob SAS URL, say): ffmpeg reads both,
so nothing is downloaded in full.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import tempfile
import wave
from functools import lru_cache
from pathlib import Path

import ffmpeg

from pipeline.records import ChunkPlan, MediaInfo

__all__ = ["MediaError", "audio_duration", "cut_chunk", "plan_chunks", "probe"]

CHUNK_SAMPLE_RATE = 16_000
MIN_CHUNK_S = 5.0
# A tail chunk must add at least this much audio past the previous chunk's end to be
# worth a transcription job of its own; a shorter one is folded into the previous chunk.
MIN_TAIL_GAIN_S = 1.0
TAIL_CHECK_S = 1.0

# The first bytes of containers ffmpeg reads: a file that starts like one of these but
# cannot be read is damaged, not the wrong kind of file.
_CONTAINER_SIGNATURES = (
    (4, b"ftyp"),  # MP4, MOV, M4A, 3GP
    (4, b"moov"),
    (4, b"mdat"),
    (0, b"RIFF"),  # WAV, AVI
    (0, b"\x1aE\xdf\xa3"),  # Matroska, WebM
    (0, b"OggS"),
    (0, b"ID3"),  # MP3 with tags
    (0, b"fLaC"),
    (0, b"FORM"),  # AIFF
    (0, b"0&\xb2u\x8ef\xcf\x11"),  # ASF, WMV
)
_STILL_IMAGE_FORMATS = re.compile(r"(^image2$|_pipe$|^gif$|^webp$)")
_FFMPEG_PREFIX = re.compile(r"^\[[^\]]+ @ 0x[0-9a-f]+\]\s*")
_MAX_REASON_CHARS = 120
# Global options must come before the inputs: ffmpeg-python's global_args() appends them
# after the output, too late to keep ffmpeg from printing its banner to stderr.
_GLOBAL_OPTIONS = ["-hide_banner", "-nostdin", "-v", "error"]
# Where the binaries come from: FFMPEG_BINARY / FFPROBE_BINARY, else the bin/ folder that
# scripts/vendor_ffmpeg.py fills for hosts without ffmpeg (Azure Functions Flex
# Consumption), else PATH.
_VENDORED = Path(__file__).resolve().parents[1] / "bin"


@lru_cache(maxsize=2)
def tool(name: str) -> str:
    """The path of the ffmpeg or ffprobe binary to run."""
    configured = os.environ.get(f"{name.upper()}_BINARY", "").strip()
    if configured:
        return configured
    vendored = _VENDORED / name
    if not vendored.is_file():
        return name
    if os.access(vendored, os.X_OK):
        return str(vendored)
    # A zip deployment can drop the executable bit; run a copy that has it.
    runnable = Path(tempfile.gettempdir()) / f"vendored-{name}"
    if not runnable.exists():
        shutil.copyfile(vendored, runnable)
        runnable.chmod(0o755)
    return str(runnable)


class MediaError(ValueError):
    """The upload cannot be analysed; the message is one sentence saying why."""


def probe(path: str, max_duration_s: float | None = None) -> MediaInfo:
    """What the pipeline needs to know about an upload, or a MediaError saying what is wrong."""
    if not _is_url(path):
        _require_non_empty_file(path)
    info = _ffprobe(path)
    audio = _first_stream(info, "audio")
    if audio is None:
        raise MediaError(_no_audio_reason(info))
    duration = _container_duration(info, audio) or audio_duration(path)
    if duration <= 0:
        raise MediaError("the file is truncated or damaged: it holds no audio that can be decoded")
    if max_duration_s is not None and duration > max_duration_s:
        raise MediaError(_too_long_reason(duration, max_duration_s))
    _require_decodable_ending(path, _audio_end(info, audio, duration))
    return MediaInfo(
        duration_s=round(duration, 3),
        has_audio=True,
        format_name=info.get("format", {}).get("format_name", ""),
        audio_codec=audio.get("codec_name", ""),
    )


def plan_chunks(duration_s: float, chunk_s: float = 30.0, overlap_s: float = 2.0) -> list[ChunkPlan]:
    """Overlapping chunks covering [0, duration_s), with ownership intervals that partition it.

    Chunk i covers [i*step, i*step + chunk_s) with step = chunk_s - overlap_s, clipped to
    the duration; each overlap is owned half by either side. A tail that would add less
    than ``MIN_TAIL_GAIN_S`` past the previous chunk is folded into that chunk, which can
    then be up to ``chunk_s + MIN_TAIL_GAIN_S`` long. The last chunk owns up to the
    duration rounded up to a whole second (a finite, JSON-safe bound that still keeps a
    word whose timestamps run a little past the end).
    """
    _validate_plan_arguments(duration_s, chunk_s, overlap_s)
    if round(duration_s, 3) <= 0:
        return []
    step = chunk_s - overlap_s
    spans = _chunk_spans(duration_s, chunk_s, step)
    owned_from = [0.0] + [start + overlap_s / 2 for start, _ in spans[1:]]
    owned_to = owned_from[1:] + [float(math.ceil(duration_s))]
    return [
        ChunkPlan(index=i, start_s=_r(start), end_s=_r(end), own_from_s=_r(own_from), own_to_s=_r(own_to))
        for i, ((start, end), own_from, own_to) in enumerate(zip(spans, owned_from, owned_to))
    ]


def cut_chunk(source: str, plan: ChunkPlan, out_path: str) -> str:
    """Write [plan.start_s, plan.end_s) of the source's audio as 16 kHz mono 16-bit WAV.

    Times count from the file's first timestamp, as ffmpeg's -ss and probe's duration do.
    """
    if not 0 <= plan.start_s < plan.end_s:
        raise ValueError(f"a chunk must start at 0 s or later and end after it starts, got {plan}")
    if not _is_url(source):
        _require_non_empty_file(source)
    # -ss before -i seeks fast, and for audio ffmpeg still decodes from the packet before
    # the target and drops samples up to it, so the cut is sample-accurate.
    stream = ffmpeg.input(source, ss=plan.start_s, t=round(plan.duration_s, 6), **_input_options(source))
    stream = stream.output(
        out_path, map="0:a:0", vn=None, ac=1, ar=CHUNK_SAMPLE_RATE, acodec="pcm_s16le", format="wav"
    )
    _run(stream.overwrite_output(), source, f"cannot cut the audio from {plan.start_s:g} s to {plan.end_s:g} s")
    if _wav_frames(out_path) == 0:
        raise MediaError(f"the recording has no audio between {plan.start_s:g} s and {plan.end_s:g} s")
    return out_path


def audio_duration(path: str) -> float:
    """Seconds of audio in the first audio stream, measured by decoding it (exact, not a header's claim)."""
    stream = ffmpeg.input(path, **_input_options(path)).output("-", map="0:a:0", format="null")
    progress = _run(stream, path, "cannot decode the audio", capture_stdout=True,
                    global_options=("-progress", "pipe:1", "-nostats"))
    times = re.findall(rb"out_time_us=(\d+)", progress)
    return int(times[-1]) / 1e6 if times else 0.0


# ---- probing -------------------------------------------------------------------------------


def _require_non_empty_file(path: str) -> None:
    if not os.path.exists(path):
        raise MediaError(f"no such file: {path}")
    if not os.path.isfile(path):
        raise MediaError(f"not a file: {path}")
    if os.path.getsize(path) == 0:
        raise MediaError("the file is empty (0 bytes)")


def _ffprobe(path: str) -> dict:
    try:
        return ffmpeg.probe(path, cmd=tool("ffprobe"), v="error", **_input_options(path))
    except ffmpeg.Error as error:
        reason = _short_reason(error.stderr, path)
        if _looks_like_a_container(path, reason):
            raise MediaError(f"the file is truncated or damaged: {reason}") from None
        raise MediaError("the file is not a video or audio file ffmpeg can read") from None
    except FileNotFoundError:
        raise RuntimeError("ffprobe is not installed (it comes with ffmpeg)") from None


def _looks_like_a_container(path: str, reason: str) -> bool:
    """A known container's signature (local files) or a demuxer's complaint (URLs)."""
    if _is_url(path):
        return bool(reason) and "Invalid data found" not in reason
    with open(path, "rb") as file:
        head = file.read(16)
    return any(head[offset:offset + len(magic)] == magic for offset, magic in _CONTAINER_SIGNATURES)


def _first_stream(info: dict, codec_type: str) -> dict | None:
    return next((s for s in info.get("streams", []) if s.get("codec_type") == codec_type), None)


def _no_audio_reason(info: dict) -> str:
    if _first_stream(info, "video") is None:
        return "the file is not a video or audio file ffmpeg can read"
    if _STILL_IMAGE_FORMATS.search(info.get("format", {}).get("format_name", "")):
        return "the file is a still image, not a video"
    return "the video has no audio track"


def _container_duration(info: dict, audio: dict) -> float:
    """The header's duration: the container's (times are video times), else the audio stream's."""
    for value in (info.get("format", {}).get("duration"), audio.get("duration")):
        seconds = _float_or_zero(value)
        if seconds > 0:
            return seconds
    return 0.0


def _audio_end(info: dict, audio: dict, duration: float) -> float:
    """Where the audio ends, in seconds after the file's first timestamp (what ffmpeg's -ss counts
    from). The audio can end before the video does: check the end of the audio, not of the file."""
    audio_seconds = _float_or_zero(audio.get("duration"))
    if audio_seconds <= 0:
        return duration
    file_start = _float_or_zero(info.get("format", {}).get("start_time"))
    return _float_or_zero(audio.get("start_time")) - file_start + audio_seconds


def _require_decodable_ending(path: str, end_s: float) -> None:
    """A file cut short after its index (an MP4 with the moov atom first, an MP3) still
    probes with its full duration; decoding its last second shows the audio is missing."""
    start = max(0.0, end_s - TAIL_CHECK_S)
    stream = ffmpeg.input(path, ss=start, t=2 * TAIL_CHECK_S, **_input_options(path))
    stream = stream.output("-", map="0:a:0", format="s16le", ac=1, ar=8000)
    try:
        pcm, stderr = _run_raw(stream, capture_stdout=True)
    except ffmpeg.Error as error:
        pcm, stderr = error.stdout or b"", error.stderr
    decoded_s = len(pcm) / 2 / 8000
    if decoded_s < min(0.25, (end_s - start) / 2):
        reason = _short_reason(stderr, path, last=True)
        detail = f" ({reason})" if reason else ""
        raise MediaError(f"the file is truncated or damaged: its last second of audio cannot be decoded{detail}")


def _too_long_reason(duration: float, limit: float) -> str:
    unit, size = ("hours", 3600.0) if limit >= 3600 else ("minutes", 60.0) if limit >= 60 else ("seconds", 1.0)
    for decimals in (1, 2, 3):
        actual, allowed = f"{duration / size:.{decimals}f}", f"{limit / size:.{decimals}f}"
        if actual != allowed:
            break
    return f"the recording is {actual} {unit} long; the limit is {allowed} {unit}"


# ---- chunk planning ------------------------------------------------------------------------


def _validate_plan_arguments(duration_s: float, chunk_s: float, overlap_s: float) -> None:
    if not all(math.isfinite(v) for v in (duration_s, chunk_s, overlap_s)):
        raise ValueError("duration, chunk length and overlap must be finite numbers")
    if duration_s < 0:
        raise ValueError(f"duration must not be negative, got {duration_s}")
    if chunk_s < MIN_CHUNK_S:
        raise ValueError(f"chunks must be at least {MIN_CHUNK_S:g} s long, got {chunk_s}")
    if overlap_s < 0:
        raise ValueError(f"overlap must not be negative, got {overlap_s}")
    if overlap_s >= chunk_s:
        raise ValueError(f"overlap ({overlap_s} s) must be shorter than a chunk ({chunk_s} s)")


def _chunk_spans(duration_s: float, chunk_s: float, step: float) -> list[tuple[float, float]]:
    spans = []
    index = 0
    while True:
        start = index * step
        end = min(start + chunk_s, duration_s)
        spans.append((start, end))
        if end >= duration_s:
            break
        index += 1
    if len(spans) > 1 and spans[-1][1] - spans[-2][1] < MIN_TAIL_GAIN_S:
        spans.pop()
        spans[-1] = (spans[-1][0], duration_s)
    return spans


def _r(seconds: float) -> float:
    return float(round(seconds, 3))


# ---- running ffmpeg ------------------------------------------------------------------------


def _is_url(source: str) -> bool:
    return str(source).lower().startswith(("http://", "https://"))


def _input_options(source: str) -> dict:
    # Blob reads over a long recording can drop or stall: reconnect, and give up on a
    # connection silent for 30 s instead of hanging the activity.
    if not _is_url(source):
        return {}
    return {"reconnect": 1, "reconnect_streamed": 1, "reconnect_delay_max": 5, "rw_timeout": 30_000_000}


def _run_raw(stream, capture_stdout: bool = False, global_options=()) -> tuple[bytes, bytes]:
    try:
        return stream.run(cmd=[tool("ffmpeg"), *_GLOBAL_OPTIONS, *global_options], capture_stdout=capture_stdout,
                          capture_stderr=True)
    except FileNotFoundError:
        raise RuntimeError("ffmpeg is not installed") from None


def _run(stream, source: str, failure: str, capture_stdout: bool = False, global_options=()) -> bytes:
    try:
        stdout, _ = _run_raw(stream, capture_stdout=capture_stdout, global_options=global_options)
    except ffmpeg.Error as error:
        reason = _short_reason(error.stderr, source)
        raise MediaError(f"{failure}: {reason}" if reason else failure) from None
    return stdout or b""


def _short_reason(stderr: bytes | None, source: str, last: bool = False) -> str:
    """One line of ffmpeg's complaint, without the '[demuxer @ 0x…]' and 'path:' prefixes."""
    lines = [line.strip() for line in (stderr or b"").decode("utf-8", "replace").splitlines() if line.strip()]
    if not lines:
        return ""
    line = _FFMPEG_PREFIX.sub("", lines[-1] if last else lines[0])
    line = line.removeprefix(f"{source}: ")  # "clip.mp4: Invalid data …" → "Invalid data …"
    return line if len(line) <= _MAX_REASON_CHARS else line[: _MAX_REASON_CHARS - 1] + "…"


def _wav_frames(path: str) -> int:
    with wave.open(path, "rb") as wav:
        return wav.getnframes()


def _float_or_zero(value) -> float:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return 0.0
    return seconds if math.isfinite(seconds) else 0.0
