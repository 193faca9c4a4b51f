"""Telemetry captured in memory (this test process) and over OTLP/HTTP (other processes).

``captured()`` configures this process's OpenTelemetry once with an in-memory span
exporter and metric reader (providers can be set once per process). ``OtlpReceiver``
is an OTLP/HTTP endpoint on loopback that decodes what exporters send with the
protobuf classes of opentelemetry-proto, the way a collector would.
"""

from __future__ import annotations

import gzip
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from services import telemetry


@dataclass
class Capture:
    spans: InMemorySpanExporter
    metrics: InMemoryMetricReader

    def metric_points(self) -> dict[str, list]:
        """Metric name -> its data points (with attributes), from a fresh collection."""
        points: dict[str, list] = {}
        data = self.metrics.get_metrics_data()
        for resource in data.resource_metrics if data else ():
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    points.setdefault(metric.name, []).extend(metric.data.data_points)
        return points


_capture: Capture | None = None


def captured() -> Capture:
    global _capture
    if _capture is None:
        _capture = Capture(InMemorySpanExporter(), InMemoryMetricReader())
        mode = telemetry.configure("classroom-tests", {}, span_exporter=_capture.spans, metric_reader=_capture.metrics)
        assert mode == "in-memory", f"telemetry was configured before the capture ({mode})"
    return _capture


def attribute_values(value) -> list:
    """The plain values inside an OTLP AnyValue."""
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [v for item in value.array_value.values for v in attribute_values(item)]
    if kind == "kvlist_value":
        return [v for item in value.kvlist_value.values for v in attribute_values(item.value)]
    return [getattr(value, kind)] if kind else []


@dataclass
class ReceivedSpan:
    service: str
    trace_id: str
    span_id: str
    parent_id: str
    name: str
    attributes: dict
    start_ns: int


@dataclass
class OtlpReceiver:
    spans: list[ReceivedSpan] = field(default_factory=list)
    metric_names: dict[str, set] = field(default_factory=dict)  # name -> services that sent it
    metric_attributes: dict[str, list[dict]] = field(default_factory=dict)
    log_records: list[dict] = field(default_factory=list)
    azure_posts: list[str] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def endpoint(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> "OtlpReceiver":
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the http.server API
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                if self.path.startswith("/v1/"):
                    receiver.accept(self.path, body)
                    reply, kind = b"", "application/x-protobuf"
                else:  # Application Insights' ingestion API (the Azure Monitor exporter's track call)
                    receiver.azure_posts.append(self.path)
                    reply, kind = b'{"itemsReceived": 0, "itemsAccepted": 0, "errors": []}', "application/json"
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def accept(self, path: str, body: bytes) -> None:
        if path == "/v1/traces":
            request = ExportTraceServiceRequest.FromString(body)
            for resource in request.resource_spans:
                service = _service(resource.resource)
                for scope in resource.scope_spans:
                    for span in scope.spans:
                        self.spans.append(ReceivedSpan(
                            service, span.trace_id.hex(), span.span_id.hex(), span.parent_span_id.hex(), span.name,
                            {a.key: attribute_values(a.value) for a in span.attributes}, span.start_time_unix_nano))
        elif path == "/v1/metrics":
            request = ExportMetricsServiceRequest.FromString(body)
            for resource in request.resource_metrics:
                service = _service(resource.resource)
                for scope in resource.scope_metrics:
                    for metric in scope.metrics:
                        self.metric_names.setdefault(metric.name, set()).add(service)
                        kind = metric.WhichOneof("data")
                        for point in getattr(metric, kind).data_points:
                            self.metric_attributes.setdefault(metric.name, []).append(
                                {a.key: attribute_values(a.value)[0] for a in point.attributes})
        elif path == "/v1/logs":
            request = ExportLogsServiceRequest.FromString(body)
            for resource in request.resource_logs:
                for scope in resource.scope_logs:
                    for record in scope.log_records:
                        self.log_records.append({"service": _service(resource.resource),
                                                 "trace_id": record.trace_id.hex(),
                                                 "body": attribute_values(record.body),
                                                 "attributes": {a.key: attribute_values(a.value)
                                                                for a in record.attributes}})

    def span_tree(self, trace_id: str) -> str:
        """The trace as an indented tree: 'name [service]' per span, children under parents."""
        spans = sorted((s for s in self.spans if s.trace_id == trace_id), key=lambda s: s.start_ns)
        ids = {s.span_id for s in spans}
        children: dict[str, list[ReceivedSpan]] = {}
        for s in spans:
            children.setdefault(s.parent_id if s.parent_id in ids else "", []).append(s)
        lines: list[str] = []

        def walk(parent: str, depth: int) -> None:
            for s in children.get(parent, []):
                lines.append(f"{'  ' * depth}{s.name} [{s.service}]")
                walk(s.span_id, depth + 1)

        walk("", 0)
        return "\n".join(lines)


def _service(resource) -> str:
    for attribute in resource.attributes:
        if attribute.key == "service.name":
            return attribute.value.string_value
    return ""
