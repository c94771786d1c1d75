"""Every recorded history replays on today's TaskWorkflow without a nondeterminism error,
through the converter every client uses (worker.client: the payload codec on): as it was
recorded (payloads written before sealing, read as they are) and with every payload sealed
as a client seals it today."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from worker.client import DATA_CONVERTER, codec_of
from worker.codec import ENCODING
from worker.main import SANDBOX, STRICT
from workflows.task import TaskWorkflow

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))
# Not payloads of the task: Temporal reads them (search attributes) or the SDK's own.
UNSEALED = {"search_attributes", "header"}
CORE = {"data", "patch-data"}  # markers' details the SDK core writes and reads itself


def test_histories_are_recorded() -> None:
    assert len(HISTORIES) >= 2, "run `python -m tests.replay.record_history`"


def _payloads(message: Message) -> list[Payload]:
    """Every payload in `message`, search attributes and headers aside."""
    found: list[Payload] = []
    for field, value in message.ListFields():
        if field.name in UNSEALED or field.message_type is None:
            continue
        if field.message_type.GetOptions().map_entry:
            values = [v for v in value.values() if isinstance(v, Message)]
        elif field.is_repeated:
            values = list(value)
        else:
            values = [value]
        for v in values:
            found.extend([v] if isinstance(v, Payload) else _payloads(v))
    return found


def _client_payloads(event: HistoryEvent) -> list[Payload]:
    """The payloads a client or worker wrote (and a codec sealed): a marker's own data (a
    patch's id, a local activity's sequence) is the SDK core's, written and read with no
    codec; a local activity's result is the worker's."""
    if event.HasField("marker_recorded_event_attributes"):
        details = event.marker_recorded_event_attributes.details
        own = [p for key, ps in details.items() if key not in CORE for p in ps.payloads]
        return own + _payloads(event.user_metadata)
    return _payloads(event)


def _sealed(history: WorkflowHistory) -> WorkflowHistory:
    codec = codec_of(DATA_CONVERTER)
    events = [type(e)() for e in history.events]
    for copy, event in zip(events, history.events, strict=True):
        copy.CopyFrom(event)
        for payload in _client_payloads(copy):
            if payload.metadata.get("encoding") != ENCODING:  # recorded before sealing
                payload.CopyFrom(codec.seal(payload))
    return WorkflowHistory(history.workflow_id, events)


# The worker's sandbox, and the SDK's guard on every call of the workflow's own modules.
RUNNERS = pytest.mark.parametrize("runner", [SANDBOX, STRICT], ids=["worker", "strict"])


@RUNNERS
@pytest.mark.parametrize("sealed", [False, True], ids=["as-recorded", "sealed"])
@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_recorded_history_replays(
    path: Path, sealed: bool, runner: SandboxedWorkflowRunner
) -> None:
    history = WorkflowHistory.from_json(path.stem, path.read_text(encoding="utf-8"))
    if sealed:
        first = history.events[0].workflow_execution_started_event_attributes.input.payloads[0]
        title = json.loads(codec_of(DATA_CONVERTER).open(first).data)["spec"]["title"].encode()
        if first.metadata["encoding"] != ENCODING:  # recorded before sealing: plain
            recorded = [p for e in history.events for p in _client_payloads(e)]
            assert any(title in p.data for p in recorded)
        history = _sealed(history)
        payloads = [p for e in history.events for p in _client_payloads(e)]
        assert all(p.metadata["encoding"] == ENCODING for p in payloads)
        assert not any(title in p.data for p in payloads)
    replayer = Replayer(
        workflows=[TaskWorkflow], data_converter=DATA_CONVERTER, workflow_runner=runner
    )
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None
