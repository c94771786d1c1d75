"""Whether a workflow is stuck, asked of Temporal: its workflow task failing (attempt > 1,
with the failure the history recorded) or an activity past its tenth attempt (with its
last failure). Shared by the worker's `duban_stuck_tasks` gauge and `duban ops doctor`."""

from __future__ import annotations

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType, WorkflowExecutionStatus
from temporalio.api.failure.v1 import Failure
from temporalio.api.workflowservice.v1 import GetWorkflowExecutionHistoryReverseRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from worker.interceptors import STUCK_ATTEMPT, first_line

RUNNING = WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING
WORKFLOW_TASK_ENDS = {
    EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
    EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
}


def failure_line(failure: Failure) -> str:
    kind = (
        failure.application_failure_info.type
        if failure.HasField("application_failure_info")
        else ""
    )
    line = first_line(failure.message) or "no message"
    return f"{kind}: {line}" if kind and not line.startswith(f"{kind}:") else line


async def reasons(client: Client, workflow_id: str, run_id: str | None = None) -> list[str]:
    """Why the run is stuck, one line each; [] when it is not (or is over, or is gone)."""
    handle = client.get_workflow_handle(workflow_id, run_id=run_id)
    try:
        raw = (await handle.describe()).raw_description
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return []
        raise
    if raw.workflow_execution_info.status != RUNNING:
        return []
    found = []
    task = raw.pending_workflow_task
    if raw.HasField("pending_workflow_task") and task.attempt > 1:
        why = await _workflow_task_failure(
            client, workflow_id, raw.workflow_execution_info.execution.run_id
        )
        found.append(f"workflow task failing (attempt {task.attempt}): {why}")
    for pending in raw.pending_activities:
        if pending.attempt >= STUCK_ATTEMPT:
            last = (
                failure_line(pending.last_failure)
                if pending.HasField("last_failure")
                else "no failure recorded"
            )
            found.append(
                f"activity {pending.activity_type.name} (attempt {pending.attempt}): {last}"
            )
    return found


async def _workflow_task_failure(client: Client, workflow_id: str, run_id: str) -> str:
    """The last workflow task failure the history holds (a failing task's later attempts are
    not written down: it is the first of the current run of failures)."""
    request = GetWorkflowExecutionHistoryReverseRequest(
        namespace=client.namespace,
        execution=WorkflowExecution(workflow_id=workflow_id, run_id=run_id),
        maximum_page_size=100,
    )
    response = await client.workflow_service.get_workflow_execution_history_reverse(request)
    for event in response.history.events:
        if event.event_type not in WORKFLOW_TASK_ENDS:
            continue
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
            return failure_line(event.workflow_task_failed_event_attributes.failure)
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT:
            return "the workflow task timed out (no worker finished it in time)"
        break
    return "no failure recorded yet"
