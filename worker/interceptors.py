"""Every log line from an activity carries the task it works for; a task that is stuck
(its workflow task fails, or an activity is past its tenth attempt) is logged once and
kept in the worker's StuckWatch, which the `duban_stuck_tasks` gauge counts
(worker/metrics.py) after asking Temporal whether each still is (worker/stuck.py)."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from typing import Any

import structlog
from temporalio import activity, workflow
from temporalio.exceptions import ApplicationError, FailureError
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    ExecuteWorkflowInput,
    HandleSignalInput,
    HandleUpdateInput,
    Interceptor,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
)

log = structlog.get_logger(__name__)

# From this attempt on, an activity that fails again is stuck: its retry policy has no
# end, and ten tries have not helped (the ledger's retries are a minute apart by then).
STUCK_ATTEMPT = 10


def first_line(err: BaseException | str) -> str:
    """The error's first line, with its type: what an operator reads first."""
    text = str(err).strip().splitlines()
    line = text[0] if text else ""
    if isinstance(err, BaseException):
        return f"{type(err).__name__}: {line}" if line else type(err).__name__
    return line


@dataclass(frozen=True)
class Stuck:
    task_id: str
    run_id: str
    what: str  # "workflow TaskWorkflow (update receive)", "activity ledger.record_events"
    attempt: int
    error: str  # its first line


class StuckWatch:
    """What this worker saw stuck. Each workflow run's failing workflow task and each
    activity past its tenth attempt is logged once for the life of the process; the runs
    stay suspects until Temporal says they are not stuck (worker/metrics.py asks).
    Workflow tasks run on threads of their own: the watch is shared under a lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failures: dict[tuple[str, str, str], int] = {}  # failures seen, once logged
        self._suspects: set[tuple[str, str]] = set()

    def saw(self, stuck: Stuck, key: str) -> None:
        """`key` says what is logged once: "workflow", or an activity's id. An attempt of
        0 is counted here: the failures this worker has seen."""
        seen = (stuck.task_id, stuck.run_id, key)
        with self._lock:
            self._suspects.add((stuck.task_id, stuck.run_id))
            count = self._failures.get(seen, 0) + 1
            self._failures[seen] = count
        if count == 1:
            log.error(
                f"task stuck: {stuck.what}",
                task_id=stuck.task_id,
                run_id=stuck.run_id,
                attempt=stuck.attempt or count,
                error=stuck.error,
            )

    def suspects(self) -> set[tuple[str, str]]:
        with self._lock:
            return set(self._suspects)

    def cleared(self, task_id: str, run_id: str) -> None:
        """Temporal says this run is not stuck (now): no longer a suspect."""
        with self._lock:
            self._suspects.discard((task_id, run_id))


class _BindActivityContext(ActivityInboundInterceptor):
    def __init__(self, next: ActivityInboundInterceptor, watch: StuckWatch) -> None:
        super().__init__(next)
        self.watch = watch

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        info = activity.info()
        with structlog.contextvars.bound_contextvars(
            task_id=info.workflow_id,
            workflow_id=info.workflow_id,
            run_id=info.workflow_run_id,
            activity=info.activity_type,
            attempt=info.attempt,
        ):
            try:
                return await super().execute_activity(input)
            except Exception as err:
                if info.attempt >= STUCK_ATTEMPT and _retried(err):
                    stuck = Stuck(
                        task_id=info.workflow_id or "",
                        run_id=info.workflow_run_id or "",
                        what=f"activity {info.activity_type}",
                        attempt=info.attempt,
                        error=first_line(err),
                    )
                    self.watch.saw(stuck, info.activity_id)
                raise


def _retried(err: BaseException) -> bool:
    """The activity will be tried again: not a final refusal, not a cancellation."""
    if isinstance(err, ApplicationError) and err.non_retryable:
        return False
    return not isinstance(err, asyncio.CancelledError)


def _workflow_class(watch: StuckWatch) -> type[WorkflowInboundInterceptor]:
    class _WatchWorkflowTask(WorkflowInboundInterceptor):
        """An exception escaping workflow code that is not a Temporal failure fails the
        workflow task, which the SDK retries for ever: logged once per run, re-raised."""

        def _failed(self, err: Exception, where: str) -> None:
            if isinstance(err, FailureError):
                return  # the workflow's or the update's own answer, not a fault
            info = workflow.info()
            stuck = Stuck(
                task_id=info.workflow_id,
                run_id=info.run_id,
                what=f"workflow {info.workflow_type} ({where}) fails its workflow task",
                attempt=0,  # counted by the watch: the workflow task's own is not told
                error=first_line(err),
            )
            with workflow.unsafe.sandbox_unrestricted():
                watch.saw(stuck, "workflow")

        async def execute_workflow(self, input: ExecuteWorkflowInput) -> Any:
            try:
                return await super().execute_workflow(input)
            except Exception as err:
                self._failed(err, "run")
                raise

        async def handle_signal(self, input: HandleSignalInput) -> None:
            try:
                await super().handle_signal(input)
            except Exception as err:
                self._failed(err, f"signal {input.signal}")
                raise

        async def handle_update_handler(self, input: HandleUpdateInput) -> Any:
            try:
                return await super().handle_update_handler(input)
            except Exception as err:
                self._failed(err, f"update {input.update}")
                raise

    return _WatchWorkflowTask


class WorkerInterceptor(Interceptor):
    """The worker's interceptor: activity log context, and the stuck-task watch."""

    def __init__(self, watch: StuckWatch | None = None) -> None:
        self.watch = watch or StuckWatch()
        self._workflow_class = _workflow_class(self.watch)

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _BindActivityContext(next, self.watch)

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor] | None:
        return self._workflow_class
