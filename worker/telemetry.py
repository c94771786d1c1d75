"""Traces and metrics for the people who run duban. A fault here is reported and worked
around: telemetry never stops the worker."""

from __future__ import annotations

import logging
import os

import structlog
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from temporalio.runtime import (
    LogForwardingConfig,
    LoggingConfig,
    PrometheusConfig,
    Runtime,
    TelemetryConfig,
    TelemetryFilter,
)

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


def core_logging() -> LoggingConfig:
    """The SDK core's own lines (warnings and up) forwarded to Python's `temporalio.core`
    logger, so they reach the log through the same renderer and masking as every line;
    left alone the core writes them to stderr in a format of its own."""
    return LoggingConfig(
        filter=TelemetryFilter(core_level="WARN", other_level="ERROR"),
        forwarding=LogForwardingConfig(logger=logging.getLogger("temporalio.core")),
    )


def runtime(metrics_port: int | None, metrics_host: str = "127.0.0.1") -> Runtime:
    """A Temporal runtime whose core logs go through Python's logging (core_logging), serving
    the SDK's and duban's metrics for Prometheus on `metrics_host:metrics_port` (loopback
    unless DUBAN_METRICS_HOST says otherwise) when a port is set. A port in use turns the
    metrics off, said in one clear line; the worker goes on."""
    logs = core_logging()
    if metrics_port is None:
        return Runtime(telemetry=TelemetryConfig(logging=logs))
    host = f"[{metrics_host}]" if ":" in metrics_host else metrics_host  # an IPv6 address
    address = f"{host}:{metrics_port}"
    try:
        rt = Runtime(
            telemetry=TelemetryConfig(logging=logs, metrics=PrometheusConfig(bind_address=address))
        )
    except ValueError as err:
        log.error("metrics endpoint off: cannot listen", address=address, reason=str(err))
        return Runtime(telemetry=TelemetryConfig(logging=core_logging()))
    log.info("metrics for Prometheus", url=f"http://{address}/metrics")
    return rt
