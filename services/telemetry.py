"""OpenTelemetry for every process of the platform: traces, metrics and logs.

``configure(service_name)`` runs once per process (function app, devhost, worker) and
reads only the environment:

- ``APPLICATIONINSIGHTS_CONNECTION_STRING``: the Azure Monitor OpenTelemetry distro
  (``configure_azure_monitor``) exports to Application Insights;
- ``OTEL_EXPORTER_OTLP_ENDPOINT``: traces, metrics and logs over OTLP/HTTP (protobuf),
  configured by the standard ``OTEL_*`` variables (the exporters read them);
- both: Azure Monitor, with the OTLP exporters added to its providers;
- neither: nothing is configured; the API's no-op tracer and meter cost a function call.

``OTEL_SERVICE_NAME`` names the process (else the name the caller gives). One trace
per video: W3C ``traceparent`` strings carry the context where no OpenTelemetry
instrumentation reaches (the orchestration's input, Service Bus application properties,
the cache between the upload request and the upload event).

Privacy: span and metric attributes carry ids, labels, versions and numbers, never
transcript text, question text or what a user typed. ``TELEMETRY_INCLUDE_TEXT=true`` lets
``text_attribute`` add text, for debugging only.
"""

from __future__ import annotations

import logging
import os
import threading
from contextlib import contextmanager
from typing import Iterator, Mapping

from opentelemetry import context as otel_context
from opentelemetry import metrics, trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

log = logging.getLogger(__name__)

TRACER_NAME = "classroom"
PROPAGATOR = TraceContextTextMapPropagator()
TRACE_KEYS = ("traceparent", "tracestate")  # the W3C fields; also the Service Bus application property names

_lock = threading.Lock()
_mode: str | None = None


def configure(service_name: str, environ: Mapping[str, str] | None = None, *, span_exporter=None,
              metric_reader=None) -> str:
    """Set up the process's providers from the environment, once; returns the mode:
    ``azure-monitor``, ``otlp``, ``azure-monitor+otlp``, ``in-memory`` (tests pass
    ``span_exporter``/``metric_reader``) or ``off``. Later calls return the first mode."""
    global _mode
    environ = os.environ if environ is None else environ
    with _lock:
        testing = span_exporter is not None or metric_reader is not None
        if _mode is not None and not (_mode == "off" and testing):  # "off" set no provider: tests may still
            return _mode
        azure = bool(environ.get("APPLICATIONINSIGHTS_CONNECTION_STRING", "").strip())
        otlp = bool(environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip())
        if environ.get("OTEL_SDK_DISABLED", "").lower() == "true" or not (azure or otlp or span_exporter or metric_reader):
            _mode = "off"
            return _mode
        from opentelemetry.sdk.resources import Resource

        resource = Resource.create({"service.name": environ.get("OTEL_SERVICE_NAME") or service_name})
        spans, readers, logs = _exporters(otlp, span_exporter, metric_reader)
        if azure:
            from azure.monitor.opentelemetry import configure_azure_monitor

            configure_azure_monitor(connection_string=environ["APPLICATIONINSIGHTS_CONNECTION_STRING"].strip(),
                                    resource=resource, span_processors=spans, metric_readers=readers,
                                    log_record_processors=logs, enable_live_metrics=False,
                                    # The distro's default samples 5 traces a second, which can drop a
                                    # video's trace; a few videos an hour afford all (OTEL_TRACES_SAMPLER wins).
                                    sampling_ratio=1.0)
            _mode = "azure-monitor+otlp" if otlp else "azure-monitor"
        else:
            _configure_sdk(resource, spans, readers, logs)
            _mode = "otlp" if otlp else "in-memory"
        log.info("telemetry: %s as %s", _mode, resource.attributes.get("service.name"))
        return _mode


def mode() -> str:
    return _mode or "off"


def enabled() -> bool:
    """Whether anything is exported: when not, spans and metrics return at once."""
    return _mode not in (None, "off")


def _exporters(otlp: bool, span_exporter, metric_reader):
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    spans, readers, logs = [], [], []
    if span_exporter is not None:
        spans.append(SimpleSpanProcessor(span_exporter))  # tests read spans the moment they end
    if metric_reader is not None:
        readers.append(metric_reader)
    if otlp:
        from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        spans.append(BatchSpanProcessor(OTLPSpanExporter()))
        readers.append(PeriodicExportingMetricReader(OTLPMetricExporter()))
        logs.append(BatchLogRecordProcessor(OTLPLogExporter()))
    return spans, readers, logs


def _configure_sdk(resource, span_processors, metric_readers, log_processors) -> None:
    from opentelemetry._logs import set_logger_provider
    from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.trace import TracerProvider

    tracer_provider = TracerProvider(resource=resource)
    for processor in span_processors:
        tracer_provider.add_span_processor(processor)
    trace.set_tracer_provider(tracer_provider)
    metrics.set_meter_provider(MeterProvider(resource=resource, metric_readers=metric_readers))
    if log_processors:
        logger_provider = LoggerProvider(resource=resource)
        for processor in log_processors:
            logger_provider.add_log_record_processor(processor)
        set_logger_provider(logger_provider)
        # Log records go out structured, with the trace and span ids of the span they were written in.
        logging.getLogger().addHandler(LoggingHandler(level=logging.INFO, logger_provider=logger_provider))


def flush(timeout_ms: int = 5000) -> None:
    """Export what is buffered now (a short-lived command, a worker about to exit)."""
    from opentelemetry._logs import get_logger_provider

    for provider in (trace.get_tracer_provider(), metrics.get_meter_provider(), get_logger_provider()):
        force_flush = getattr(provider, "force_flush", None)
        if force_flush is None:
            continue
        try:
            force_flush(timeout_ms)
        except Exception as error:  # noqa: BLE001 - an unreachable collector must not fail the command
            log.warning("telemetry: could not export everything: %s", error)


# --- privacy ------------------------------------------------------------------------------


def include_text() -> bool:
    return os.environ.get("TELEMETRY_INCLUDE_TEXT", "").strip().lower() == "true"


def text_attribute(span: Span, name: str, text: str) -> None:
    """Text (a question, a transcript) goes on a span only when debugging asks for it."""
    if include_text():
        span.set_attribute(name, text[:1000])


# --- context across boundaries ------------------------------------------------------------


def current_traceparent() -> str | None:
    """The current span's W3C traceparent, or None when nothing is being traced."""
    carrier: dict[str, str] = {}
    PROPAGATOR.inject(carrier)
    return carrier.get("traceparent")


def context_properties() -> dict[str, str]:
    """traceparent (and tracestate) of the current span, for a message's application properties."""
    carrier: dict[str, str] = {}
    PROPAGATOR.inject(carrier)
    return carrier


def context_from(carrier: Mapping | None) -> otel_context.Context | None:
    """The remote parent a carrier (message properties, a dict with "traceparent") names, or None."""
    if not carrier:
        return None
    fields = {}
    for key in TRACE_KEYS:
        value = carrier.get(key)
        if isinstance(value, bytes):
            value = value.decode("ascii", "replace")
        if isinstance(value, str) and value:
            fields[key] = value
    if "traceparent" not in fields:
        return None
    parent = PROPAGATOR.extract(fields)
    return parent if trace.get_current_span(parent).get_span_context().is_valid else None


def tracer() -> trace.Tracer:
    return trace.get_tracer(TRACER_NAME)


def meter() -> metrics.Meter:
    return metrics.get_meter(TRACER_NAME)


@contextmanager
def span(name: str, *, parent: Mapping | None = None, kind: SpanKind = SpanKind.INTERNAL,
         attributes: Mapping | None = None) -> Iterator[Span]:
    """A span, a child of ``parent``'s traceparent when it names one (else of the current span).
    An exception marks the span as an error and goes on."""
    if not enabled():  # near-zero cost when nothing is exported: no context to attach, nothing to carry
        yield trace.INVALID_SPAN
        return
    remote = context_from(parent)
    with tracer().start_as_current_span(name, context=remote, kind=kind, attributes=_clean(attributes),
                                        record_exception=True, set_status_on_exception=True) as current:
        yield current


def _clean(attributes: Mapping | None) -> dict | None:
    if not attributes:
        return None
    return {k: v for k, v in attributes.items() if v is not None}


def mark_failed(current: Span, reason: str) -> None:
    """A step that answered "no" (a bad video) is an error in the trace, with its reason type only."""
    current.set_status(Status(StatusCode.ERROR, reason[:200] if include_text() else None))


# --- metrics ------------------------------------------------------------------------------
# Names follow the OpenTelemetry semantic conventions where one exists (http.server.request.duration,
# messaging.*); the domain's own live under "classroom.". Units are UCUM ("s", "1", "{prediction}").

CONFIDENCE_BUCKETS = [0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.99, 1.0]
SHARE_BUCKETS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300]
WAIT_BUCKETS = [0.5, 1, 1.5, 2, 2.5, 3, 4, 5, 7.5, 10, 20]
RTF_BUCKETS = [0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 5]


class Instruments:
    """Every instrument, created once (the API hands out proxies until ``configure`` runs)."""

    def __init__(self, m: metrics.Meter):
        h = m.create_histogram
        self.http_duration = h("http.server.request.duration", unit="s",
                               description="Duration of HTTP server requests",
                               explicit_bucket_boundaries_advisory=SECONDS_BUCKETS)
        self.predictions = m.create_counter("classroom.classifier.predictions", unit="{prediction}",
                                            description="Questions classified, by model version and label")
        self.confidence = h("classroom.classifier.confidence", unit="1",
                            description="Probability of the predicted label",
                            explicit_bucket_boundaries_advisory=CONFIDENCE_BUCKETS)
        self.cache_lookups = m.create_counter("classroom.classifier.cache.lookups", unit="{lookup}",
                                              description="Prediction cache lookups (classroom.cache.hit true/false)")
        self.classify_duration = h("classroom.classifier.duration", unit="s",
                                   description="Time to classify one request's or one video's questions",
                                   explicit_bucket_boundaries_advisory=SECONDS_BUCKETS)
        self.rtf = h("classroom.transcription.real_time_factor", unit="1",
                     description="Seconds of decoding per second of audio (lower is faster)",
                     explicit_bucket_boundaries_advisory=RTF_BUCKETS)
        self.chunk_duration = h("classroom.transcription.chunk.duration", unit="s",
                                description="Time from receiving a chunk's job to sending its result",
                                explicit_bucket_boundaries_advisory=SECONDS_BUCKETS)
        self.queue_time = h("messaging.process.queue_time", unit="s",
                            description="Time a job waited in the queue before this delivery",
                            explicit_bucket_boundaries_advisory=SECONDS_BUCKETS)
        self.retries = m.create_counter("classroom.transcription.retries", unit="{delivery}",
                                        description="Redeliveries of a job (delivery count above 1)")
        self.dead_letters = m.create_counter("classroom.jobs.dead_lettered", unit="{message}",
                                             description="Jobs dead-lettered, by reason")
        self.video_questions = h("classroom.video.questions", unit="{question}",
                                 description="Educator questions per analysed video",
                                 explicit_bucket_boundaries_advisory=[0, 1, 2, 5, 10, 20, 50, 100, 200])
        self.video_oeq_share = h("classroom.video.oeq_share", unit="1",
                                 description="Share of a video's educator questions that are open-ended",
                                 explicit_bucket_boundaries_advisory=SHARE_BUCKETS)
        self.wait_time = h("classroom.question.wait_time", unit="s",
                           description="Silence after each educator question",
                           explicit_bucket_boundaries_advisory=WAIT_BUCKETS)
        self.videos = m.create_counter("classroom.videos.completed", unit="{video}",
                                       description="Videos whose pipeline ended, by outcome")


_instruments: Instruments | None = None
_noop_instruments = Instruments(metrics.NoOpMeter(TRACER_NAME))


def instruments() -> Instruments:
    """The real instruments once telemetry is on; no-op ones (that record nothing) until then."""
    global _instruments
    if not enabled():
        return _noop_instruments
    if _instruments is None:
        _instruments = Instruments(meter())
    return _instruments


# --- domain recordings ----------------------------------------------------------------------


def record_predictions(model_version: str, labelled: list[tuple[str, float]], seconds: float | None = None) -> None:
    """(label, probability of OEQ) per prediction: counts by version and label, confidence, latency.
    The mean confidence and OEQ share per model version over time are the drift panels."""
    ins = instruments()
    for label, oeq_probability in labelled:
        attributes = {"classroom.model.version": model_version, "classroom.label": label}
        ins.predictions.add(1, attributes)
        ins.confidence.record(oeq_probability if label == "OEQ" else 1.0 - oeq_probability, attributes)
    if seconds is not None:
        ins.classify_duration.record(seconds, {"classroom.model.version": model_version})


def record_classification(model_version: str, predictions, cache_hits: int, seconds: float) -> None:
    """One classify call (typed text or a video's questions): its predictions, the cache's
    hits and misses, and how long it took."""
    record_predictions(model_version, [(p.label, p.oeq_probability) for p in predictions], seconds)
    record_cache(model_version, cache_hits, len(predictions) - cache_hits)


def record_cache(model_version: str, hits: int, misses: int) -> None:
    ins = instruments()
    if hits:
        ins.cache_lookups.add(hits, {"classroom.cache.hit": True, "classroom.model.version": model_version})
    if misses:
        ins.cache_lookups.add(misses, {"classroom.cache.hit": False, "classroom.model.version": model_version})


def record_video(document: Mapping, tenant_id: str) -> None:
    """A completed video's analysis: its questions, its OEQ share (by model version: the drift
    panel) and each educator question's wait time. Its predictions were counted when made."""
    ins = instruments()
    metrics_ = document.get("metrics") or {}
    version = (document.get("models") or {}).get("classifier") or "unknown"
    attributes = {"classroom.model.version": version, "classroom.tenant.id": tenant_id}
    ins.video_questions.record(int(metrics_.get("question_count") or 0), attributes)
    if metrics_.get("question_count"):
        ins.video_oeq_share.record(float(metrics_.get("oeq_ratio") or 0.0), attributes)
    educator = [q for q in document.get("questions") or () if q.get("speaker", "educator") == "educator"]
    for question in educator:
        if question.get("wait_time_s") is not None:
            ins.wait_time.record(float(question["wait_time_s"]), {"classroom.model.version": version})
    ins.videos.add(1, {"classroom.outcome": "completed"})


# --- the upload's trace, kept until its blob arrives --------------------------------------------

UPLOAD_TRACE_TTL_S = 24 * 3600  # longer than an upload URL lives


def upload_trace_key(tenant_id: str, video_id: str) -> str:
    return f"trace:{tenant_id}:{video_id}"


def remember_trace(cache, key: str, traceparent: str) -> None:
    """Best effort: a cache that is away costs the link between two parts of one trace, nothing more."""
    try:
        cache.set_many({key: traceparent}, UPLOAD_TRACE_TTL_S)
    except Exception as error:  # noqa: BLE001 - telemetry never fails a request
        log.debug("could not keep the trace for %s: %s", key, error)


def remembered_trace(cache, key: str) -> str | None:
    try:
        value = cache.get_many([key])[0]
    except Exception as error:  # noqa: BLE001 - telemetry never fails a pipeline
        log.debug("could not read the trace for %s: %s", key, error)
        return None
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    return value if isinstance(value, str) and value else None
