"""OpenTelemetry for the worker: spans on the tick → order path, exported to the console or over OTLP.

`configure_tracing("console" | "otlp" | "none")` installs a tracer provider once per process; `tracer()` is
what the worker uses. With "none" (the default) spans cost next to nothing.
"""

from __future__ import annotations

from typing import Any, Literal

Exporter = Literal["none", "console", "otlp"]
_configured: list[str] = []


def configure_tracing(exporter: Exporter, *, service_name: str = "traider-worker") -> None:
    """Install a tracer provider exporting spans as asked (idempotent within a process)."""
    if _configured or exporter == "none":
        return
    from opentelemetry import trace
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    if exporter == "console":
        provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))  # endpoint from OTEL_EXPORTER_OTLP_*
    trace.set_tracer_provider(provider)
    _configured.append(exporter)


def tracer() -> Any:
    """Return the worker's tracer."""
    from opentelemetry import trace

    return trace.get_tracer("traider.execution")
