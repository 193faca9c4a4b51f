"""The real video orchestrators with instant stand-in activities (test doubles, named so).

The orchestrators (``video_pipeline`` and its ``transcribe_batch`` sub-orchestrations)
are the app's own, replayed by devhost's Durable runtime with the extension's
semantics; only the activities are replaced, so a test can decide exactly when each
chunk's result, failure or duplicate arrives — before its wait opens, during a
dispatch, twice, late — and a benchmark can measure the orchestration alone.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

from blueprints.pipeline_steps import BATCH_ORCHESTRATOR, ORCHESTRATOR, PipelineInput, instance_id_for
from devhost.app_index import registered_functions
from devhost.durable import DurableFunction, LocalDurableRuntime, durable_functions
from pipeline.media import plan_chunks

CHUNK_SECONDS, OVERLAP_SECONDS = 30.0, 2.0


def duration_for(chunks: int) -> float:
    """A video length that plan_chunks cuts into exactly ``chunks`` chunks."""
    duration = (CHUNK_SECONDS - OVERLAP_SECONDS) * chunks
    assert len(plan_chunks(duration, CHUNK_SECONDS, OVERLAP_SECONDS)) == chunks
    return duration


@dataclass
class FakePipeline:
    """One video of ``chunks`` chunks. ``on_send(pipeline, instance_id, index, attempt)`` is
    the worker: it runs inside the activity that sends the job (so it can race it) and
    decides what comes back; the default answers every job at once with a success."""

    chunks: int
    on_send: Callable[["FakePipeline", str, int, int], None] | None = None
    chunk_timeout_s: float = 600.0
    max_dispatches: int = 3
    chunks_per_batch: int = 10
    worker_start_s: float = 0.0
    broken_activity: str | None = None  # this activity raises ConnectionError on every call
    tenant_id: str = "t"
    video_id: str = "0" * 32
    sent: list[tuple[int, int]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    analysed: list[dict] = field(default_factory=list)
    calls: Counter = field(default_factory=Counter)
    runtime: LocalDurableRuntime | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __enter__(self) -> "FakePipeline":
        orchestrators = [f for f in durable_functions(registered_functions())
                         if f.name in (ORCHESTRATOR, BATCH_ORCHESTRATOR)]
        activities = [DurableFunction(name, "activityTrigger", self._counted(name, handler), "payload")
                      for name, handler in {
                          "probe_video": self._probe, "cut_and_dispatch": self._cut_and_dispatch,
                          "dispatch_chunks": self._dispatch, "analyze_video": self._analyze,
                          "persist_results": self._persist, "mark_failed": self._mark_failed}.items()]
        self.runtime = LocalDurableRuntime([*orchestrators, *activities], max_workers=4)
        return self

    def __exit__(self, *exc) -> None:
        self.runtime.close()

    @property
    def instance_id(self) -> str:
        return instance_id_for(self.tenant_id, self.video_id)

    def start(self) -> str:
        job = PipelineInput(self.tenant_id, self.video_id, f"{self.tenant_id}/{self.video_id}.mp4", CHUNK_SECONDS,
                            OVERLAP_SECONDS, self.chunk_timeout_s, self.max_dispatches, 4 * 3600.0,
                            self.chunks_per_batch, self.worker_start_s)
        return self.runtime.start_new(ORCHESTRATOR, self.instance_id, job.to_dict())

    def run(self, timeout_s: float = 60.0):
        self.start()
        status = self.runtime.wait_for_completion(self.instance_id, timeout_s)
        self.runtime.wait_idle(timeout_s)
        return status

    def batch_ids(self) -> list[str]:
        return sorted(s.instance_id for s in self.runtime.list_instances()
                      if s.instance_id.startswith(self.instance_id + ":batch-"))

    def histories(self) -> dict[str, list[dict]]:
        return {i: self.runtime.get_history(i) for i in [self.instance_id, *self.batch_ids()]}

    # --- what the worker and the result trigger would do ------------------------------------

    def answer(self, instance_id: str, index: int, attempt: int, ok: bool = True, error: str = "") -> None:
        """Raise the chunk's result event, as on_transcription_result / on_dead_lettered_job do."""
        from blueprints.video_pipeline import chunk_event

        payload = {"instance_id": instance_id, "index": index, "attempt": attempt, "ok": ok}
        payload.update({"transcript_blob": f"t/{index:05d}.json", "model": "fake", "transcribe_s": 0.0} if ok
                       else {"error": error or "PoisonJob: injected"})
        self.runtime.raise_event(instance_id, chunk_event(index, attempt), payload)

    def _sent(self, instance_id: str, index: int, attempt: int) -> None:
        with self._lock:
            self.sent.append((index, attempt))
        (self.on_send or answer_at_once)(self, instance_id, index, attempt)

    # --- the stand-in activities ------------------------------------------------------------

    def _counted(self, name: str, handler: Callable) -> Callable:
        def activity(payload):
            with self._lock:
                self.calls[name] += 1
            if name == self.broken_activity:
                raise ConnectionError("injected outage")
            return handler(payload)
        return activity

    def _probe(self, payload):
        return {"ok": True, "duration_s": duration_for(self.chunks), "has_audio": True}

    def _cut_and_dispatch(self, payload):
        self._sent(payload["instance_id"], payload["plan"]["index"], payload["attempt"])
        return {"ok": True, "index": payload["plan"]["index"]}

    def _dispatch(self, payload):
        for chunk in payload["chunks"]:
            self._sent(payload["instance_id"], chunk["index"], chunk["attempt"])
        return {"ok": True, "sent": len(payload["chunks"])}

    def _analyze(self, payload):
        self.analysed.append(payload)
        return {"ok": True, "questions": 0}

    def _persist(self, payload):
        return {"ok": True, "metrics": {"chunks": self.chunks}}

    def _mark_failed(self, payload):
        self.failures.append(payload["reason"])
        return True


def answer_at_once(pipeline: FakePipeline, instance_id: str, index: int, attempt: int) -> None:
    """A worker faster than the dispatching activity: the result is in history before the
    activity's own completion."""
    pipeline.answer(instance_id, index, attempt)


def answer_later(delay_s: float) -> Callable:
    def worker(pipeline: FakePipeline, instance_id: str, index: int, attempt: int) -> None:
        threading.Timer(delay_s, pipeline.answer, args=(instance_id, index, attempt)).start()
    return worker


def orchestration_cost(chunks: int, chunks_per_batch: int = 10) -> dict:
    """Orchestrator CPU, episodes and history sizes for one video, activities instant."""
    with FakePipeline(chunks, chunks_per_batch=chunks_per_batch) as pipeline:
        cpu, wall = time.process_time(), time.perf_counter()
        status = pipeline.run(timeout_s=600)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        histories = pipeline.histories()
    assert status.output["status"] == "completed", status.output
    return {"chunks": chunks, "cpu_s": round(cpu, 2), "wall_s": round(wall, 2), "instances": len(histories),
            "episodes": sum(1 for h in histories.values() for e in h if e["EventType"] == 12),
            "largest_history": max(len(h) for h in histories.values()),
            "total_history": sum(len(h) for h in histories.values())}
