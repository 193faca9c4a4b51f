"""Many videos at once through the local stack: throughput and time from upload to analysis.

    bash scripts/setup.sh --stack
    .venv/bin/python bench/concurrent_videos_bench.py [--videos 20] [--workers 2] [--video samples/classroom_sample.mp4]

Starts its own stack (Azurite, redis-server, the Cosmos-compatible server, the AMQP
broker) in a temporary folder, runs the function app's non-HTTP side in this process
(devhost's Durable runtime, Event Grid and Service Bus triggers) and ``--workers``
separate ``python -m gpu_worker`` processes, uploads every video at once, and prints
whether all completed, videos per hour, and p50/p95 time from upload to analysis.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from blueprints import dependencies  # noqa: E402
from blueprints.pipeline_steps import instance_id_for  # noqa: E402
from devhost.platform import LocalPlatform  # noqa: E402
from devhost.stack import manager  # noqa: E402
from services.blobs import VIDEOS  # noqa: E402
from services.results import VideoRecord  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2, help="worker processes (one decode each)")
    parser.add_argument("--video", type=Path, default=REPO / "samples" / "classroom_sample.mp4")
    parser.add_argument("--timeout", type=float, default=1800)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)

    with tempfile.TemporaryDirectory(prefix="bench-stack-") as home:
        home = Path(home)
        state, env_file = home / "stack", home / "stack.env"
        settings = manager.up(state=state, env_file=env_file)
        workers: list[subprocess.Popen] = []
        saved = dict(os.environ)
        try:
            os.environ.update({**settings, "DATA_DIR": str(home / "data"), "WORKER_CONCURRENCY": "1"})
            dependencies.reset()
            env = {**os.environ, "PYTHONPATH": str(REPO)}
            for i in range(args.workers):
                log = open(home / f"worker-{i}.log", "ab")
                workers.append(subprocess.Popen([sys.executable, "-m", "gpu_worker"], cwd=REPO, env=env,
                                                stdout=log, stderr=log))
            print(f"{args.videos} videos of {args.video.name}, {args.workers} worker processes; running …", flush=True)
            timings = run(args.videos, args.video, args.timeout)
        finally:
            for worker in workers:
                worker.terminate()
                worker.wait(timeout=30)
            os.environ.clear()
            os.environ.update(saved)
            dependencies.reset()
            manager.down(state=state, env_file=env_file)
    report(timings, args.videos)


def run(count: int, video: Path, timeout_s: float) -> dict[str, tuple[str, float, float]]:
    """Upload ``count`` copies at once; {video id: (outcome, uploaded at, finished at)}."""
    finished: dict[str, tuple[str, float, float]] = {}
    with LocalPlatform(run_worker=False) as platform:
        ids = [os.urandom(16).hex() for _ in range(count)]
        for video_id in ids:
            dependencies.results().create_video(
                VideoRecord(tenant_id="bench", video_id=video_id, blob_path=f"bench/{video_id}.mp4"))
        uploaded: dict[str, float] = {}

        def upload(video_id: str) -> None:
            dependencies.blobs().put_file(VIDEOS, f"bench/{video_id}.mp4", video)
            uploaded[video_id] = time.monotonic()

        uploads = [threading.Thread(target=upload, args=(i,)) for i in ids]
        for thread in uploads:
            thread.start()
        for thread in uploads:
            thread.join()
        deadline = time.monotonic() + timeout_s
        while len(finished) < count and time.monotonic() < deadline:
            for video_id in ids:
                if video_id in finished:
                    continue
                status = platform.runtime.get_status(instance_id_for("bench", video_id))
                if status and status.runtime_status in ("Completed", "Failed", "Terminated"):
                    outcome = (status.output or {}).get("status", status.runtime_status) \
                        if isinstance(status.output, dict) else status.runtime_status
                    finished[video_id] = (outcome, uploaded[video_id], time.monotonic())
            time.sleep(0.2)
    return finished


def report(timings: dict[str, tuple[str, float, float]], count: int) -> None:
    completed = [t for t in timings.values() if t[0] == "completed"]
    latencies = sorted(end - start for _, start, end in completed)
    print(f"completed: {len(completed)} of {count}" + ("" if len(completed) == count else "  <-- NOT ALL"))
    if not latencies:
        return
    span = max(end for *_, end in completed) - min(start for _, start, _ in completed)
    p95 = latencies[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))]
    print(f"wall time {span:.1f} s  ->  {len(completed) / span * 3600:.0f} videos per hour")
    print(f"upload to analysis: p50 {statistics.median(latencies):.1f} s, p95 {p95:.1f} s, "
          f"max {latencies[-1]:.1f} s")


if __name__ == "__main__":
    main()
