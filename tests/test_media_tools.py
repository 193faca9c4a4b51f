"""Which ffmpeg/ffprobe binaries pipeline.media runs: a setting, the vendored bin/ folder
(hosts without ffmpeg, such as Azure Functions Flex Consumption), or PATH."""

import shutil
import subprocess

import pytest

from pipeline import media


@pytest.fixture(autouse=True)
def fresh_lookup(monkeypatch, tmp_path):
    monkeypatch.delenv("FFMPEG_BINARY", raising=False)
    monkeypatch.delenv("FFPROBE_BINARY", raising=False)
    monkeypatch.setattr(media, "_VENDORED", tmp_path / "bin")
    monkeypatch.setattr(media.tempfile, "gettempdir", lambda: str(tmp_path))
    media.tool.cache_clear()
    yield
    media.tool.cache_clear()


def test_path_is_the_default():
    assert media.tool("ffmpeg") == "ffmpeg" and media.tool("ffprobe") == "ffprobe"


def test_a_setting_wins(monkeypatch):
    monkeypatch.setenv("FFPROBE_BINARY", "/opt/ffmpeg/ffprobe")
    assert media.tool("ffprobe") == "/opt/ffmpeg/ffprobe"


def test_vendored_binaries_are_used_and_made_runnable(tmp_path):
    (tmp_path / "bin").mkdir()
    shutil.copyfile(shutil.which("ffprobe"), tmp_path / "bin" / "ffprobe")  # as a zip deploy leaves it: not executable
    (tmp_path / "bin" / "ffprobe").chmod(0o644)
    runnable = media.tool("ffprobe")
    assert runnable == str(tmp_path / "vendored-ffprobe")
    sample = media.Path(__file__).resolve().parents[1] / "samples" / "classroom_sample.mp4"
    info = media.probe(str(sample))
    expected = float(subprocess.run([shutil.which("ffprobe"), "-v", "error", "-show_entries", "format=duration",
                                     "-of", "csv=p=0", str(sample)], capture_output=True, text=True,
                                    check=True).stdout)
    assert info.has_audio and info.duration_s == pytest.approx(expected, abs=0.1)
