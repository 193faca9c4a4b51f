"""Media the tests make for themselves: spoken audio with known timing, and bad uploads.

Why: the pipeline measures wait time in seconds of silence, so its tests need speech
whose timing is known exactly, and the media checks need files that are broken in
specific ways. Shipping such files would bloat the repository and hide how they were
made; building them takes a second with espeak-ng and ffmpeg.

``build_speech`` renders each utterance with espeak-ng, trims the silence espeak-ng
pads it with (a few ms before, ~0.39 s after), and joins the utterances with exact
digital silence. The returned ``SpokenSpan``s are measured from the samples, so the
audio outside every span is exact zeros and each span starts and ends on an audible
sample: ``spans[i + 1].start_s - spans[i].end_s`` equals ``pause_after_s`` to the sample.
A span may still hold short pauses espeak-ng puts at commas.

Every builder writes only the path it is given (use pytest's ``tmp_path``).
"""

from __future__ import annotations

import random
import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path

import ffmpeg
import numpy as np

SAMPLE_RATE = 16_000
# About -50 dBFS: above resampling ripple, below the quietest onset espeak-ng makes.
AUDIBLE = 100
FFMPEG = ["ffmpeg", "-hide_banner", "-nostdin", "-v", "error"]


@dataclass(frozen=True)
class Voice:
    """An espeak-ng voice and its pitch (0-99, espeak-ng's default 50 ≈ 200 Hz for the f3
    variant). A child is a higher voice: ``Voice("en-us+f5", pitch=90)`` speaks at ~310 Hz."""

    name: str
    pitch: int = 50


@dataclass
class Utterance:
    text: str
    pause_after_s: float
    voice: str | Voice | None = None  # espeak-ng voice for this utterance; default: build_speech's


@dataclass
class SpokenSpan:
    text: str
    start_s: float
    end_s: float


def build_speech(utterances, out_wav: Path, voice: str | Voice = "en-us", words_per_minute: int = 150,
                 lead_in_s: float = 0.5) -> list[SpokenSpan]:
    """A 16 kHz mono WAV of the utterances with exact pauses; returns where each one is audible."""
    pieces = [silence(lead_in_s)]
    spans = []
    position = len(pieces[0])
    for utterance in utterances:
        speech = trim_silence(render_utterance(utterance.text, utterance.voice or voice, words_per_minute))
        spans.append(SpokenSpan(utterance.text, position / SAMPLE_RATE, (position + len(speech)) / SAMPLE_RATE))
        pieces += [speech, silence(utterance.pause_after_s)]
        position += len(speech) + len(pieces[-1])
    write_wav(out_wav, np.concatenate(pieces))
    return spans


def render_utterance(text: str, voice: str | Voice = "en-us", words_per_minute: int = 150) -> np.ndarray:
    """espeak-ng's rendering of one utterance as 16 kHz int16 samples, padding included."""
    if not text.strip():
        raise ValueError("an utterance needs some text")
    voice = voice if isinstance(voice, Voice) else Voice(voice)
    # Text goes in on stdin so that text starting with '-' is not read as an option.
    spoken = subprocess.run(["espeak-ng", "-v", voice.name, "-p", str(voice.pitch), "-s", str(words_per_minute),
                             "--stdout", "--stdin"],
                            input=text.encode(), capture_output=True, check=True).stdout
    pcm, _ = (ffmpeg.input("pipe:", format="wav")
              .output("pipe:", format="s16le", acodec="pcm_s16le", ac=1, ar=SAMPLE_RATE)
              .run(cmd=FFMPEG, input=spoken, capture_stdout=True, capture_stderr=True))
    return np.frombuffer(pcm, dtype="<i2")


def trim_silence(samples: np.ndarray) -> np.ndarray:
    audible = np.flatnonzero(np.abs(samples.astype(np.int32)) > AUDIBLE)
    if audible.size == 0:
        raise ValueError("espeak-ng rendered no audible speech")
    return samples[audible[0]:audible[-1] + 1]


def silence(seconds: float) -> np.ndarray:
    if seconds < 0:
        raise ValueError(f"a pause cannot be negative, got {seconds}")
    return np.zeros(round(seconds * SAMPLE_RATE), dtype="<i2")


def write_wav(path: Path, samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(samples.astype("<i2").tobytes())
    return Path(path)


def read_wav(path: Path) -> tuple[np.ndarray, int, int]:
    """(int16 samples of the first channel, sample rate, channel count)."""
    with wave.open(str(path), "rb") as wav:
        channels, rate = wav.getnchannels(), wav.getframerate()
        samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    return samples[::channels], rate, channels


def wav_seconds(path: Path) -> float:
    with wave.open(str(path), "rb") as wav:
        return wav.getnframes() / wav.getframerate()


def wrap_as_video(wav: Path, out: Path, size: str = "160x120", fps: int = 5, faststart: bool = False) -> Path:
    """An MP4 (H.264 still colour + AAC at 44.1 kHz, like a phone's) around the audio.

    ``faststart`` puts the index (moov atom) before the media data, as web-ready files
    have it; ffmpeg's default puts it at the end.
    """
    seconds = wav_seconds(wav)
    picture = ffmpeg.input(f"color=c=0x336699:s={size}:r={fps}:d={seconds:.3f}", format="lavfi")
    sound = ffmpeg.input(str(wav))
    return _encode(picture, sound, out, faststart)


def make_video_without_audio(out: Path, seconds: float = 3) -> Path:
    picture = ffmpeg.input(f"color=c=0x993333:s=160x120:r=5:d={seconds}", format="lavfi")
    return _encode(picture, None, out)


def make_silent_video(out: Path, seconds: float = 5) -> Path:
    """A video whose audio track is there but holds only digital silence."""
    picture = ffmpeg.input(f"color=c=0x339933:s=160x120:r=5:d={seconds}", format="lavfi")
    sound = ffmpeg.input("anullsrc=r=44100:cl=mono", format="lavfi", t=seconds)
    return _encode(picture, sound, out)


def make_long_silent_audio(out: Path, seconds: float) -> Path:
    """Hours of digital silence in well under a second and 1 MB: FLAC at 1 kHz.
    For duration-limit tests."""
    sound = ffmpeg.input("anullsrc=r=1000:cl=mono", format="lavfi", t=seconds)
    (sound.output(str(out), acodec="flac", format="flac")
     .overwrite_output()
     .run(cmd=FFMPEG, capture_stdout=True, capture_stderr=True))
    return Path(out)


def make_truncated_mp4(source_mp4: Path, out: Path) -> Path:
    """The first half of the bytes, as an interrupted upload leaves it."""
    data = Path(source_mp4).read_bytes()
    Path(out).write_bytes(data[: len(data) // 2])
    return Path(out)


def make_random_bytes(out: Path, n: int = 50_000) -> Path:
    Path(out).write_bytes(random.Random(20261128).randbytes(n))
    return Path(out)


def _encode(picture, sound, out: Path, faststart: bool = False) -> Path:
    streams = [picture] if sound is None else [picture, sound]
    options = {"vcodec": "libx264", "preset": "ultrafast", "tune": "stillimage", "pix_fmt": "yuv420p"}
    if sound is not None:
        options.update(acodec="aac", ar=44100, ac=1, audio_bitrate="48k")
    if faststart:
        options["movflags"] = "+faststart"
    (ffmpeg.output(*streams, str(out), **options)
     .overwrite_output()
     .run(cmd=FFMPEG, capture_stdout=True, capture_stderr=True))
    return Path(out)


def room_noise(seconds: float, color: str = "pink", seed: int = 20261202) -> np.ndarray:
    """ffmpeg's noise generator (pink: the spectrum of a room's hum and rustle), float samples."""
    pcm, _ = (ffmpeg.input(f"anoisesrc=color={color}:amplitude=0.5:seed={seed}:r={SAMPLE_RATE}:d={seconds:.3f}",
                           format="lavfi")
              .output("pipe:", format="s16le", acodec="pcm_s16le", ac=1, ar=SAMPLE_RATE)
              .run(cmd=FFMPEG, capture_stdout=True, capture_stderr=True))
    return np.frombuffer(pcm, dtype="<i2").astype(np.float64)


def add_room_noise(wav: Path, out_wav: Path, snr_db: float, color: str = "pink", seed: int = 20261202) -> Path:
    """The WAV with noise under it, ``snr_db`` below the speech (its audible samples' power).

    Noise fills the pauses too, so a pause is no longer digital silence: what measures
    it must tell quiet from speech the way it would in a room.
    """
    speech, rate, _ = read_wav(wav)
    noise = room_noise(len(speech) / rate + 0.01, color, seed)[: len(speech)]
    noise = np.pad(noise, (0, len(speech) - len(noise)))
    audible = speech[np.abs(speech.astype(np.int32)) > AUDIBLE].astype(np.float64)
    speech_power = float(np.mean(audible**2)) if audible.size else 1.0
    noise = noise * np.sqrt(speech_power / (10 ** (snr_db / 10)) / max(float(np.mean(noise**2)), 1e-9))
    mixed = np.clip(speech.astype(np.float64) + noise, -32768, 32767)
    return write_wav(out_wav, mixed.astype("<i2"), rate)
