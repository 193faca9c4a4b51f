"""pipeline.media against real ffmpeg, on media the tests build with espeak-ng (tests/speech_fixtures.py)."""

from __future__ import annotations

import functools
import http.server
import json
import math
import threading
from pathlib import Path

import ffmpeg
import numpy as np
import pytest

from pipeline.media import MediaError, audio_duration, cut_chunk, plan_chunks, probe
from pipeline.records import ChunkPlan
from tests.speech_fixtures import (
    SAMPLE_RATE,
    Utterance,
    build_speech,
    make_long_silent_audio,
    make_random_bytes,
    make_silent_video,
    make_truncated_mp4,
    make_video_without_audio,
    read_wav,
    render_utterance,
    wav_seconds,
    wrap_as_video,
)

UTTERANCES = [
    Utterance("What do you think will happen next?", 3.0),
    Utterance("Is it red?", 1.5),
    Utterance("Tell me about your picture.", 0.6),
]
LEAD_IN_S = 0.5


@pytest.fixture(scope="module")
def media_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="module")
def speech(media_dir):
    wav = media_dir / "speech.wav"
    return wav, build_speech(UTTERANCES, wav, lead_in_s=LEAD_IN_S)


@pytest.fixture(scope="module")
def speech_mp4(media_dir, speech) -> Path:
    return wrap_as_video(speech[0], media_dir / "speech.mp4")


@pytest.fixture(scope="module")
def speech_mp4_faststart(media_dir, speech) -> Path:
    return wrap_as_video(speech[0], media_dir / "speech-faststart.mp4", faststart=True)


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(samples.astype(np.float64) ** 2))) if samples.size else 0.0


def at(seconds: float) -> int:
    return round(seconds * SAMPLE_RATE)


def audible_extent(samples: np.ndarray, threshold: float = 300.0, window_s: float = 0.01) -> tuple[float, float]:
    """First and last 10 ms window whose RMS is above the threshold, in seconds."""
    window = at(window_s)
    frames = samples[: len(samples) // window * window].astype(np.float64).reshape(-1, window)
    loud = np.flatnonzero(np.sqrt((frames ** 2).mean(axis=1)) > threshold)
    return loud[0] * window_s, (loud[-1] + 1) * window_s


# ---- the fixtures themselves ---------------------------------------------------------------


def test_build_speech_spans_are_where_the_speech_is(speech):
    wav, spans = speech
    samples, rate, channels = read_wav(wav)
    assert (rate, channels) == (SAMPLE_RATE, 1)
    assert [s.text for s in spans] == [u.text for u in UTTERANCES]
    outside = np.ones(len(samples), dtype=bool)
    for span in spans:
        inside = samples[at(span.start_s):at(span.end_s)]
        assert span.end_s - span.start_s > 0.4
        assert abs(int(inside[0])) > 0 and abs(int(inside[-1])) > 0  # starts and ends on sound
        assert rms(inside) > 1000
        outside[at(span.start_s):at(span.end_s)] = False
    assert not samples[outside].any(), "audio outside the spans must be digital silence"


def test_build_speech_pauses_are_exact(speech):
    wav, spans = speech
    assert spans[0].start_s == LEAD_IN_S
    for span, following, utterance in zip(spans, spans[1:], UTTERANCES):
        assert following.start_s - span.end_s == pytest.approx(utterance.pause_after_s, abs=1 / SAMPLE_RATE)
    assert wav_seconds(wav) == pytest.approx(spans[-1].end_s + UTTERANCES[-1].pause_after_s, abs=1 / SAMPLE_RATE)


def test_espeak_padding_is_trimmed_from_the_spans(speech):
    _, spans = speech
    raw_s = len(render_utterance(UTTERANCES[1].text)) / SAMPLE_RATE
    # espeak-ng ends every utterance with ~0.39 s of silence (and starts with up to ~15 ms).
    assert raw_s - (spans[1].end_s - spans[1].start_s) > 0.3


def test_wrapped_video_is_small_h264_with_aac(speech, speech_mp4):
    streams = {s["codec_type"]: s["codec_name"] for s in ffmpeg.probe(str(speech_mp4))["streams"]}
    assert streams == {"video": "h264", "audio": "aac"}
    assert speech_mp4.stat().st_size / wav_seconds(speech[0]) * 60 < 500_000  # a minute well under 1 MB


# ---- probe ---------------------------------------------------------------------------------


def test_probe_reads_a_video(speech, speech_mp4):
    info = probe(str(speech_mp4))
    assert info.has_audio and info.audio_codec == "aac" and "mp4" in info.format_name
    # the video track ends on a whole frame (0.2 s at 5 fps) at or after the audio
    assert wav_seconds(speech[0]) - 0.05 <= info.duration_s <= wav_seconds(speech[0]) + 0.25


def test_probe_reads_a_plain_wav(speech):
    info = probe(str(speech[0]))
    assert info.duration_s == pytest.approx(wav_seconds(speech[0]), abs=0.001)
    assert (info.format_name, info.audio_codec) == ("wav", "pcm_s16le")


def test_probe_accepts_a_video_whose_audio_is_silent(media_dir):
    info = probe(str(make_silent_video(media_dir / "silent.mp4", seconds=5)))
    assert info.has_audio and info.duration_s == pytest.approx(5.0, abs=0.1)


def test_probe_accepts_a_recording_within_the_limit(speech_mp4):
    assert probe(str(speech_mp4), max_duration_s=60).duration_s < 60


def test_audio_duration_is_measured_by_decoding(speech):
    assert audio_duration(str(speech[0])) == pytest.approx(wav_seconds(speech[0]), abs=0.001)


def missing(d: Path, _) -> Path:
    return d / "does-not-exist.mp4"


def empty(d: Path, _) -> Path:
    (d / "empty.mp4").write_bytes(b"")
    return d / "empty.mp4"


def text_file(d: Path, _) -> Path:
    (d / "lesson-plan.mp4").write_text("Circle time: ask open questions, wait three seconds.\n" * 50)
    return d / "lesson-plan.mp4"


def random_mp4(d: Path, _) -> Path:
    return make_random_bytes(d / "noise.mp4")


def random_bin(d: Path, _) -> Path:
    return make_random_bytes(d / "noise.bin")


def no_audio(d: Path, _) -> Path:
    return make_video_without_audio(d / "no-audio.mp4")


def still_image(d: Path, _) -> Path:
    out = d / "picture.png"
    ffmpeg.input("testsrc=s=64x64:d=1", format="lavfi").output(str(out), vframes=1).run(quiet=True)
    return out


def folder(d: Path, _) -> Path:
    (d / "a-folder").mkdir(exist_ok=True)
    return d / "a-folder"


def cut_in_half(d: Path, videos) -> Path:
    return make_truncated_mp4(videos[0], d / "half.mp4")


def faststart_cut_in_half(d: Path, videos) -> Path:
    return make_truncated_mp4(videos[1], d / "half-faststart.mp4")


@pytest.mark.parametrize("build, expected", [
    (missing, "no such file: "),
    (empty, "the file is empty (0 bytes)"),
    (text_file, "the file is not a video or audio file ffmpeg can read"),
    (random_mp4, "the file is not a video or audio file ffmpeg can read"),
    (random_bin, "the file is not a video or audio file ffmpeg can read"),
    (no_audio, "the video has no audio track"),
    (still_image, "the file is a still image, not a video"),
    (folder, "not a file: "),
    # moov atom at the end (ffmpeg's default): the cut removes the index, ffprobe fails
    (cut_in_half, "the file is truncated or damaged: moov atom not found"),
    # moov atom first: ffprobe reads the full duration from the index; only decoding shows the loss
    (faststart_cut_in_half, "the file is truncated or damaged: its last second of audio cannot be decoded"),
])
def test_probe_rejects_a_bad_upload_in_one_sentence(media_dir, speech_mp4, speech_mp4_faststart, build, expected):
    path = build(media_dir, (speech_mp4, speech_mp4_faststart))
    with pytest.raises(MediaError) as raised:
        probe(str(path))
    message = str(raised.value)
    assert message.startswith(expected)
    assert_one_short_line(message)


def test_probe_rejects_a_recording_over_the_limit(speech_mp4):
    with pytest.raises(MediaError, match=r"^the recording is \d+\.\d seconds long; the limit is 5\.0 seconds$"):
        probe(str(speech_mp4), max_duration_s=5)


def test_probe_states_a_long_recording_in_hours(media_dir):
    long_audio = make_long_silent_audio(media_dir / "long.flac", seconds=3.2 * 3600)
    assert probe(str(long_audio)).duration_s == pytest.approx(3.2 * 3600, abs=0.01)
    with pytest.raises(MediaError, match=r"^the recording is 3\.2 hours long; the limit is 2\.0 hours$"):
        probe(str(long_audio), max_duration_s=2 * 3600)


def assert_one_short_line(message: str):
    assert "\n" not in message and "Traceback" not in message
    assert len(message) < 200, message


# ---- plan_chunks ---------------------------------------------------------------------------


PLAN_CASES = [
    (duration, chunk, overlap)
    for duration in (0.4, 4.0, 29.9, 30.0, 30.5, 31.0, 58.5, 58.9, 59.1, 60.0, 86.0, 123.456, 601.25, 7200.0)
    for chunk, overlap in ((30.0, 2.0), (30.0, 0.0), (5.0, 1.5), (45.0, 5.0))
]


@pytest.mark.parametrize("duration, chunk_s, overlap_s", PLAN_CASES)
def test_chunks_cover_the_recording_with_exact_overlaps(duration, chunk_s, overlap_s):
    plans = plan_chunks(duration, chunk_s, overlap_s)
    assert [p.index for p in plans] == list(range(len(plans)))
    assert plans[0].start_s == 0 and plans[-1].end_s == duration
    for previous, following in zip(plans, plans[1:]):
        assert previous.end_s - following.start_s == pytest.approx(overlap_s, abs=1e-9)
    for plan in plans:
        assert 0 < plan.duration_s <= chunk_s + 1.0 + 1e-9


@pytest.mark.parametrize("duration, chunk_s, overlap_s", PLAN_CASES)
def test_no_chunk_is_a_tiny_tail(duration, chunk_s, overlap_s):
    plans = plan_chunks(duration, chunk_s, overlap_s)
    if len(plans) > 1:
        assert plans[-1].end_s - plans[-2].end_s >= 1.0  # the last chunk adds a second or more of new audio


@pytest.mark.parametrize("duration, chunk_s, overlap_s", PLAN_CASES)
def test_ownership_partitions_the_recording(duration, chunk_s, overlap_s):
    plans = plan_chunks(duration, chunk_s, overlap_s)
    assert plans[0].own_from_s == 0
    for previous, following in zip(plans, plans[1:]):
        assert previous.own_to_s == following.own_from_s  # no gap, no overlap
        # the boundary sits in the middle of the overlap, so each side keeps words away from its cut
        assert following.own_from_s == pytest.approx(following.start_s + overlap_s / 2, abs=1e-9)
    assert duration <= plans[-1].own_to_s < duration + 1
    for plan in plans:
        assert plan.start_s <= plan.own_from_s < plan.own_to_s
        assert plan is plans[-1] or plan.own_to_s <= plan.end_s


@pytest.mark.parametrize("duration, chunk_s, overlap_s", PLAN_CASES)
def test_plans_are_json_safe_with_millisecond_times(duration, chunk_s, overlap_s):
    plans = plan_chunks(duration, chunk_s, overlap_s)
    dumped = json.loads(json.dumps([p.to_dict() for p in plans], allow_nan=False))
    assert [ChunkPlan.from_dict(d) for d in dumped] == plans
    for plan in plans:
        for value in (plan.start_s, plan.end_s, plan.own_from_s, plan.own_to_s):
            assert isinstance(value, float) and math.isfinite(value) and round(value, 3) == value


def test_a_minute_in_default_chunks():
    assert [(p.start_s, p.end_s, p.own_from_s, p.own_to_s) for p in plan_chunks(60.0)] == [
        (0.0, 30.0, 0.0, 29.0),
        (28.0, 58.0, 29.0, 57.0),
        (56.0, 60.0, 57.0, 60.0),
    ]


def test_a_short_tail_is_folded_into_the_previous_chunk():
    # 58.9 s: a third chunk would start at 56 s and add only 0.9 s past the second's end
    assert [(p.start_s, p.end_s) for p in plan_chunks(58.9)] == [(0.0, 30.0), (28.0, 58.9)]


def test_an_empty_recording_has_no_chunks():
    assert plan_chunks(0.0) == []


@pytest.mark.parametrize("args, message", [
    ((60.0, 4.0, 1.0), "at least 5 s"),
    ((60.0, 30.0, 30.0), "must be shorter than a chunk"),
    ((60.0, 30.0, 31.0), "must be shorter than a chunk"),
    ((60.0, 30.0, -1.0), "overlap must not be negative"),
    ((-1.0, 30.0, 2.0), "duration must not be negative"),
    ((math.nan, 30.0, 2.0), "finite"),
    ((math.inf, 30.0, 2.0), "finite"),
])
def test_plan_arguments_are_validated(args, message):
    with pytest.raises(ValueError, match=message):
        plan_chunks(*args)


# ---- cut_chunk -----------------------------------------------------------------------------


def around(span, before_s: float = 0.8, after_s: float = 0.8) -> ChunkPlan:
    return ChunkPlan(index=0, start_s=round(span.start_s - before_s, 3), end_s=round(span.end_s + after_s, 3),
                     own_from_s=0.0, own_to_s=0.0)


def assert_chunk_wav(path: Path, plan: ChunkPlan) -> np.ndarray:
    samples, rate, channels = read_wav(path)
    assert (rate, channels) == (SAMPLE_RATE, 1)
    assert len(samples) / rate == pytest.approx(plan.duration_s, abs=0.05)
    return samples


def test_a_cut_from_a_video_holds_the_utterance_where_it_was(speech, speech_mp4, tmp_path):
    _, spans = speech
    plan = around(spans[1])
    out = cut_chunk(str(speech_mp4), plan, str(tmp_path / "chunk.wav"))
    samples = assert_chunk_wav(Path(out), plan)
    start, end = audible_extent(samples)
    # AAC smears a few ms around onsets; 10 ms windows add up to 10 ms more
    assert start == pytest.approx(spans[1].start_s - plan.start_s, abs=0.04)
    assert end == pytest.approx(spans[1].end_s - plan.start_s, abs=0.04)


def test_a_cut_inside_a_pause_is_near_silent(speech, speech_mp4, tmp_path):
    _, spans = speech
    plan = ChunkPlan(index=1, start_s=round(spans[0].end_s + 0.3, 3), end_s=round(spans[1].start_s - 0.3, 3),
                     own_from_s=0.0, own_to_s=0.0)
    samples = assert_chunk_wav(Path(cut_chunk(str(speech_mp4), plan, str(tmp_path / "pause.wav"))), plan)
    assert np.abs(samples.astype(np.int32)).max() < 50


def test_a_cut_from_a_16k_wav_is_sample_exact(speech, tmp_path):
    wav, spans = speech
    source, _, _ = read_wav(wav)
    plan = around(spans[0], before_s=0.25, after_s=1.0)
    samples = assert_chunk_wav(Path(cut_chunk(str(wav), plan, str(tmp_path / "exact.wav"))), plan)
    assert np.array_equal(samples, source[at(plan.start_s):at(plan.end_s)])


def test_a_url_is_probed_and_cut_without_downloading_the_file(speech, speech_mp4, tmp_path):
    _, spans = speech
    plan = around(spans[2])
    with served(speech_mp4.parent) as base_url:
        url = f"{base_url}/{speech_mp4.name}"
        assert probe(url) == probe(str(speech_mp4))
        out = cut_chunk(url, plan, str(tmp_path / "from-url.wav"))
        with pytest.raises(MediaError, match="^the file is not a video or audio file ffmpeg can read$"):
            probe(f"{base_url}/{make_random_bytes(speech_mp4.parent / 'noise.bin').name}")
    local = cut_chunk(str(speech_mp4), plan, str(tmp_path / "from-disk.wav"))
    assert np.array_equal(read_wav(Path(out))[0], read_wav(Path(local))[0])


def test_a_cut_past_the_end_says_there_is_no_audio(speech_mp4, tmp_path):
    plan = ChunkPlan(index=9, start_s=60.0, end_s=90.0, own_from_s=61.0, own_to_s=90.0)
    with pytest.raises(MediaError, match="^the recording has no audio between 60 s and 90 s$"):
        cut_chunk(str(speech_mp4), plan, str(tmp_path / "past-end.wav"))


def test_a_cut_from_a_bad_source_fails_in_one_line(media_dir, tmp_path):
    plan = ChunkPlan(index=0, start_s=0.0, end_s=2.0, own_from_s=0.0, own_to_s=2.0)
    with pytest.raises(MediaError, match="^no such file: "):
        cut_chunk(str(media_dir / "nowhere.mp4"), plan, str(tmp_path / "a.wav"))
    with pytest.raises(MediaError) as raised:
        cut_chunk(str(make_video_without_audio(tmp_path / "mute.mp4")), plan, str(tmp_path / "b.wav"))
    assert str(raised.value).startswith("cannot cut the audio from 0 s to 2 s: ")
    assert_one_short_line(str(raised.value))


@pytest.mark.parametrize("start_s, end_s", [(-0.5, 2.0), (3.0, 3.0), (4.0, 2.0)])
def test_a_cut_needs_a_sensible_interval(speech, tmp_path, start_s, end_s):
    plan = ChunkPlan(index=0, start_s=start_s, end_s=end_s, own_from_s=0.0, own_to_s=0.0)
    with pytest.raises(ValueError, match="must start at 0 s or later and end after it starts"):
        cut_chunk(str(speech[0]), plan, str(tmp_path / "never.wav"))


class served:
    """A folder served over real HTTP on a loopback port (http.server, no Range support)."""

    def __init__(self, folder: Path):
        handler = functools.partial(QuietHandler, directory=str(folder))
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass
