"""A span around each SQL statement, so a task's trace reaches down to the database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry import trace

_tracer = trace.get_tracer("duban.sql")


@contextmanager
def sql_span(statement: str) -> Iterator[None]:
    words = statement.split()
    table = next((w for w in words[1:4] if w.isidentifier() and w.upper() not in _KEYWORDS), "")
    with _tracer.start_as_current_span(
        f"{words[0].upper()} {table}".strip(),
        kind=trace.SpanKind.CLIENT,
        attributes={"db.system": "postgresql", "db.statement": " ".join(words)},
    ):
        yield


_KEYWORDS = {"INTO", "FROM", "TABLE", "SET"}
