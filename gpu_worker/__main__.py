"""python -m gpu_worker: receive transcription jobs until SIGTERM/SIGINT.

A stop signal lets the current job finish (and be settled) before the process exits;
a second signal exits at once, and Service Bus redelivers the job when its lock expires.
"""

from __future__ import annotations

import logging
import signal
import sys

from gpu_worker.worker import Worker
from models.transcriber import TranscriberSettings, get_transcriber
from services import telemetry
from services.settings import Settings, SettingsError, build_blobs, build_jobs


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    telemetry.configure("classroom-worker")
    try:
        settings = Settings.from_env()
        jobs = build_jobs(settings)
    except SettingsError as error:
        print(f"gpu_worker: {error}", file=sys.stderr)
        return 2
    if jobs.kind == "in-process":
        print("gpu_worker: no job queue is configured: with the embedded defaults the worker runs inside "
              "devhost (python -m devhost analyze VIDEO); a separate worker process needs Service Bus settings",
              file=sys.stderr)
        return 2
    transcriber_settings = TranscriberSettings(settings.whisper_model, settings.whisper_device,
                                               settings.whisper_compute_type, settings.whisper_beam_size,
                                               workers=settings.worker_threads)
    worker = Worker(jobs, build_blobs(settings), lambda: get_transcriber(transcriber_settings),
                    max_attempts=settings.job_max_delivery_count,
                    transient_retry_s=settings.job_transient_retry_s)

    def stop(signum, _frame):
        if worker.stop.is_set():
            sys.exit(128 + signum)
        logging.getLogger("gpu_worker").info("stopping after the current job (signal %d)", signum)
        worker.stop.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    worker.run_concurrently(settings.worker_threads)
    telemetry.flush()  # the last jobs' spans and metrics leave before the process does
    return 0


if __name__ == "__main__":
    sys.exit(main())
