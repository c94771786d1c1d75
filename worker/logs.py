"""structlog, configured once per process; stdlib records (temporalio's) go the same way."""

from __future__ import annotations

import logging
import sys
import traceback
from typing import TextIO

import structlog
from structlog.tracebacks import ExceptionDictTransformer
from structlog.typing import ExcInfo

from worker.redact import mask, redact

_configured = False

# A traceback as a dict, without its frames' local variables: a mobile number or a token
# held in a local would reach the log (structlog's dict_tracebacks shows them by default).
_dict_tracebacks = structlog.processors.ExceptionRenderer(
    ExceptionDictTransformer(show_locals=False)
)


def _masked_traceback(sio: TextIO, exc_info: ExcInfo) -> None:
    """The console's traceback: Python's own (no locals), masked as every line is."""
    sio.write("\n" + mask("".join(traceback.format_exception(*exc_info))))


def configure(level: str = "INFO", stream: TextIO | None = None) -> None:
    """JSON lines when not on a terminal, readable console lines on one."""
    global _configured
    if _configured and stream is None:
        return
    _configured = True
    out = stream or sys.stderr
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.stdlib.PositionalArgumentsFormatter(),
    ]
    renderer: structlog.types.Processor
    if out.isatty():
        renderer = structlog.dev.ConsoleRenderer(exception_formatter=_masked_traceback)
    else:
        # The traceback becomes data before the masking, so it is masked with the rest.
        shared.append(_dict_tracebacks)
        renderer = structlog.processors.JSONRenderer(ensure_ascii=False)
    shared.append(redact)
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(out)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx says every request at INFO: the outbox records each send and its answer, and a
    # line per notice is no log (issue 14: the 503 minutes wrote 108 MB).
    for chatty in ("httpx", "httpcore"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
