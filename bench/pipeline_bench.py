"""Benchmark the video pipeline against one plain faster-whisper call (prints figures).

    .venv/bin/python bench/pipeline_bench.py [--repeat 3] [--video FILE]

The clip (default: samples/classroom_sample.mp4 played three times, ~150 s) goes
1. through `python -m devhost analyze` — probe, chunk, dispatch, the in-process
   worker transcribing each chunk, assembly, questions, ONNX classification, storage;
2. through one plain faster-whisper call in a fresh process, on the same file with
   the same model and settings (WHISPER_MODEL or the default, int8 on CPU, beam 5, word
   timestamps, VAD).
Both are whole processes (start-up and model load included), best of --repeat.
Prints both wall times, their ratio (target <= 1.3) and the real-time factors.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "samples" / "classroom_sample.mp4"

PLAIN_WHISPER = """
import os, sys, time
started = time.perf_counter()
from faster_whisper import WhisperModel
from models.transcriber import DEFAULT_MODEL, resolve_model_path
model = WhisperModel(resolve_model_path(os.environ.get("WHISPER_MODEL") or DEFAULT_MODEL), device="cpu",
                     compute_type="int8")
segments, info = model.transcribe(sys.argv[1], language="en", beam_size=5, word_timestamps=True,
                                  condition_on_previous_text=False, vad_filter=True)
words = sum(len(s.words) for s in segments)
print(words, info.duration, time.perf_counter() - started)
"""


def looped_sample(times: int, folder: Path) -> Path:
    listing = folder / "list.txt"
    listing.write_text(f"file '{SAMPLE}'\n" * times)
    out = folder / f"sample_x{times}.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy",
                    str(out)], check=True)
    return out


def timed(command: list[str], env: dict) -> tuple[float, subprocess.CompletedProcess]:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO, env=env)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{command[2:4]} failed:\n{done.stderr[-2000:]}")
    return wall, done


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--video", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        video = args.video or looped_sample(3, folder)
        env = {**os.environ, "DATA_DIR": str(folder / "data")}
        env.pop("REDIS_URL", None)
        pipeline_runs, plain_runs, analysis = [], [], None
        for _ in range(args.repeat):
            wall, _ = timed([sys.executable, "-m", "devhost", "analyze", str(video), "--out", str(folder / "a.json")],
                            env)
            pipeline_runs.append(wall)
            analysis = json.loads((folder / "a.json").read_text())
            wall, done = timed([sys.executable, "-c", PLAIN_WHISPER, str(video)], env)
            plain_runs.append(wall)
            plain_words = int(done.stdout.split()[0])

    duration = analysis["duration_s"]
    pipeline, plain = min(pipeline_runs), min(plain_runs)
    print(f"clip: {video.name if args.video else 'sample x3'}, {duration:.1f} s, "
          f"{len(analysis['segments'])} segments, {analysis['metrics']['question_count']} questions")
    print(f"pipeline (python -m devhost analyze): {pipeline:.2f} s wall, best of {args.repeat} "
          f"(runs {', '.join(f'{w:.2f}' for w in pipeline_runs)})")
    print(f"  inside it: {json.dumps(analysis['timings'])}")
    print(f"plain faster-whisper, same file/model/settings: {plain:.2f} s wall, {plain_words} words "
          f"(runs {', '.join(f'{w:.2f}' for w in plain_runs)})")
    print(f"ratio pipeline / plain: {pipeline / plain:.2f}  (target <= 1.3)")
    print(f"real-time factor: pipeline {pipeline / duration:.3f}, plain {plain / duration:.3f} "
          f"({duration / pipeline:.1f}x and {duration / plain:.1f}x faster than real time)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
