"""A recording's sound as samples: what speaker attribution and pause measurement listen to.

16 kHz mono float32 in [-1, 1], the rate Whisper and Silero VAD work at; an hour is
about 230 MB. Decoded by ffmpeg straight from the source (a path or a blob URL).
"""

from __future__ import annotations

import ffmpeg
import numpy as np

from pipeline.media import MediaError, _input_options, _is_url, _require_non_empty_file, _run

SAMPLE_RATE = 16_000


def read_audio(source: str, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """The first audio stream, resampled to mono ``sample_rate``; MediaError if it cannot be decoded."""
    if not _is_url(source):
        _require_non_empty_file(source)
    stream = ffmpeg.input(source, **_input_options(source)).output(
        "pipe:", map="0:a:0", vn=None, ac=1, ar=sample_rate, acodec="pcm_s16le", format="s16le")
    pcm = _run(stream, source, "cannot decode the audio", capture_stdout=True)
    if not pcm:
        raise MediaError("the recording has no audio samples")
    return np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
