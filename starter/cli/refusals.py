"""What the person at the command line reads when duban, Temporal or PostgreSQL says no:
one line, never a traceback. An error not named here is a defect and keeps its traceback."""

from __future__ import annotations

from pydantic import ValidationError
from temporalio.client import WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.service import RPCError, RPCStatusCode

from starter.taskfile import explain
from workflows.errors import DubanError

RPC_REASONS = {
    RPCStatusCode.UNAVAILABLE: "Temporal is unreachable",
    RPCStatusCode.DEADLINE_EXCEEDED: "Temporal did not answer in time",
    RPCStatusCode.NOT_FOUND: "not found",
    RPCStatusCode.ALREADY_EXISTS: "already exists",
    RPCStatusCode.RESOURCE_EXHAUSTED: "Temporal is over its limits; try again shortly",
    RPCStatusCode.PERMISSION_DENIED: "Temporal refused: no permission",
    RPCStatusCode.UNAUTHENTICATED: "Temporal refused the credentials",
    RPCStatusCode.INVALID_ARGUMENT: "Temporal refused the request",
    RPCStatusCode.FAILED_PRECONDITION: "Temporal refused the request",
}


def one_line(err: BaseException) -> str | None:
    """The reason for `err` on one line, or None when it is not a refusal but a defect."""
    if isinstance(err, DubanError):
        text = str(err)
    elif isinstance(err, ValidationError):
        text = explain(err)
    elif isinstance(err, WorkflowUpdateRPCTimeoutOrCancelledError):
        text = "the task did not answer in time: is the worker (`duban up`) running?"
    elif isinstance(err, RPCError):
        reason = RPC_REASONS.get(err.status, f"Temporal said {err.status.name}")
        text = f"{reason}: {err.message}" if err.message else reason
    elif _postgres(err):
        text = f"PostgreSQL: {type(err).__name__}: {err}"
    elif isinstance(err, OSError):
        where = f": {err.filename}" if err.filename else ""
        text = f"{err.strerror or err}{where}"
    else:
        return None
    return " ".join(line.strip() for line in text.splitlines() if line.strip())


def _postgres(err: BaseException) -> bool:
    import asyncpg  # here: most commands never touch PostgreSQL

    return isinstance(err, asyncpg.PostgresError | asyncpg.InterfaceError)
