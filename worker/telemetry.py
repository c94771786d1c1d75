"""Traces and metrics for the people who run duban. A fault here is reported and worked
around: telemetry never stops the worker."""

from __future__ import annotations

import os

import structlog
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

log = structlog.get_logger(__name__)

_provider: TracerProvider | None = None


def configure_tracing(
    service: str = "duban", processor: SpanProcessor | None = None
) -> TracerProvider:
    """One provider per process. Spans go over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set,
    to `processor` when given (tests), and nowhere otherwise."""
    global _provider
    if _provider is None:
        _provider = TracerProvider(resource=Resource.create({"service.name": service}))
        trace.set_tracer_provider(_provider)
        endpoint = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        if endpoint:
            _provider.add_span_processor(BatchSpanProcessor(_otlp_exporter()))
            log.info("traces exported over OTLP", endpoint=endpoint)
    if processor is not None:
        _provider.add_span_processor(processor)
    return _provider


def _otlp_exporter() -> SpanExporter:
    # The HTTP exporter reads OTEL_EXPORTER_OTLP_ENDPOINT itself; an unreachable endpoint
    # only costs failed exports, logged by the SDK, never a failed activity.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()


def runtime(metrics_port: int | None) -> Runtime | None:
    """A Temporal runtime serving the SDK's and duban's metrics for Prometheus on
    `metrics_port`; None (the default runtime, no endpoint) when unset or when the port is
    in use, which is said in one clear line and does not stop the worker."""
    if metrics_port is None:
        return None
    address = f"0.0.0.0:{metrics_port}"
    try:
        rt = Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=address)))
    except ValueError as err:
        log.error("metrics endpoint off: cannot listen", port=metrics_port, reason=str(err))
        return None
    log.info("metrics for Prometheus", url=f"http://127.0.0.1:{metrics_port}/metrics")
    return rt
