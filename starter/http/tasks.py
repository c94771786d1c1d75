"""The task API: the same words as the CLI, the same functions behind them
(starter.commands). The caller's unit and role come from the directory (activities.authz);
a task the caller may not see is 404, as one that does not exist."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Header, Query
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from temporalio.client import WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.service import RPCError, RPCStatusCode

from activities import authz
from activities.ledger import task_history
from starter import commands
from starter.http.auth import CallerDep, DoorDep
from starter.http.errors import ApiError
from starter.taskfile import explain, task_from
from workflows.contracts import Actor, Message, ReportKind, TaskState, Urgency
from workflows.errors import DubanError
from workflows.names import Action, Stage

router = APIRouter(prefix="/api", tags=["tasks"])

# The CLI's words for the messages (`duban task extend` sends request_extension).
WORDS: dict[str, Action] = {
    action.value.replace("_", "-"): action
    for action in Action
    if action is not Action.REQUEST_EXTENSION
} | {"extend": Action.REQUEST_EXTENSION}
ROLED = frozenset({Action.ACK, Action.RESOLVE})


class MessageBody(BaseModel):
    """What a message says; who sends it, for which unit, is the directory's to say. A body
    naming `unit`, `by` or `actor` is refused (422), so a forged sender changes nothing."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field("", max_length=20_000)
    kind: ReportKind | None = None  # report: plan | progress | completion
    decision: str | None = None  # answer-difficulty, decide-extension
    until: date | None = None  # extend
    urgency: Urgency | None = None  # raise-urgency
    role: str | None = None  # ack, resolve: when given, must be the caller's role there


class Accepted(BaseModel):
    seq: int
    stage: Stage


class Created(BaseModel):
    id: str


@contextlib.contextmanager
def _translated() -> Iterator[None]:
    """Temporal's and the commands' refusals as the API's statuses."""
    try:
        yield
    except commands.NoSuchTask as err:
        raise ApiError(404, str(err)) from err
    except commands.TaskExists as err:
        raise ApiError(409, str(err)) from err
    except commands.TaskBusy as err:  # the server's load, not this caller's rate: not 429
        again = None if err.delivered else {"Retry-After": "60"}  # delivered: not again
        raise ApiError(503, str(err), again) from err
    except DubanError as err:
        raise ApiError(409, str(err).removeprefix("refused: ")) from err
    except WorkflowUpdateRPCTimeoutOrCancelledError as err:
        raise ApiError(504, "the task did not answer in time; try again") from err
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise ApiError(404, "no such task") from err
        raise ApiError(503, f"Temporal: {err.status.name}: {err.message}") from err


async def _visible_state(
    door: DoorDep, caller: CallerDep, task_id: str
) -> tuple[TaskState, str | None]:
    """The task's state and run, when the caller may see it; else 404 as for no task."""
    try:
        with _translated():
            state, run_id = await commands.show(door.client, task_id)
    except ApiError as err:
        if err.status == 409:  # no worker answered the query
            raise ApiError(503, err.reason) from err
        raise
    facts = authz.TaskFacts.of_state(state)
    if not authz.may_see(caller.directory, caller.person, facts, caller.today):
        raise ApiError(404, f"no task {task_id}")
    return state, run_id


# What only the running task knows: the level being climbed (who may acknowledge) and the
# disagreement's level (who may resolve). Every other message is decided on the task's
# units, which the ledger's row holds: one call to Temporal per message, as the CLI's.
LIVE_FACTS = frozenset({Action.ACK, Action.RESOLVE})


async def _facts_for(
    door: DoorDep, caller: CallerDep, task_id: str, action: Action
) -> authz.TaskFacts:
    """The task's facts the caller's standing is decided on, when the caller may see it."""
    row = None
    if action not in LIVE_FACTS:
        row = await door.pool.fetchrow(
            "SELECT assigning_unit, lead_unit, co_units, policy->>'extension_approver' AS "
            "approver FROM tasks WHERE id = $1",
            task_id,
        )
    if row is None:  # a climb's or a disagreement's level; or not in the ledger yet
        state, _ = await _visible_state(door, caller, task_id)
        return authz.TaskFacts.of_state(state)
    named = row["approver"] or "assigning_unit"
    facts = authz.TaskFacts(
        id=task_id,
        assigning_unit=row["assigning_unit"],
        lead_unit=row["lead_unit"],
        co_units=tuple(row["co_units"]),
        late_unit=row["lead_unit"],
        approver=row["assigning_unit"] if named == "assigning_unit" else named,
    )
    if not authz.may_see(caller.directory, caller.person, facts, caller.today):
        raise ApiError(404, f"no task {task_id}")
    return facts


@router.post("/tasks", status_code=201, response_model=Created)
async def start(
    door: DoorDep, caller: CallerDep, fields: Annotated[dict[str, Any], Body()]
) -> Created:
    """Start a task from a task file's fields (JSON); the policy is a built-in name or
    inline. The caller must be the office or a member of the assigning unit."""
    try:
        spec = task_from(fields, commands.today(), None)
    except DubanError as err:
        raise ApiError(422, str(err)) from err
    try:
        authz.may_assign(caller.directory, caller.person, spec.assigning_unit, caller.today)
    except authz.Refusal as err:
        raise ApiError(err.status, err.reason) from err
    with _translated():
        task_id = await commands.start_spec(door.client, spec, door.task_queue, caller.person)
    return Created(id=task_id)


@router.get("/tasks")
async def list_tasks(
    door: DoorDep,
    caller: CallerDep,
    stage: Stage | None = None,
    unit: str | None = None,
    light: Literal["green", "yellow", "red", "grey"] | None = None,
    overdue: bool = False,
) -> dict[str, list[dict[str, Any]]]:
    """Tasks as `duban task list --json` lists them, only those the caller may see."""
    with _translated():
        rows = await commands.list_tasks(door.client, stage, unit, overdue, light)
    units = authz.visible_units(caller.directory, caller.person, caller.today)
    if units is not None:
        known = await door.pool.fetch(
            "SELECT id, assigning_unit, lead_unit, co_units FROM tasks WHERE id = ANY($1)",
            [r["id"] for r in rows],
        )
        seen = {
            r["id"] for r in known if units & {r["assigning_unit"], r["lead_unit"], *r["co_units"]}
        }
        rows = [r for r in rows if r["id"] in seen]
    return {"tasks": rows}


@router.get("/tasks/{task_id}")
async def show(door: DoorDep, caller: CallerDep, task_id: str) -> dict[str, Any]:
    """What `duban task show --json` prints."""
    state, run_id = await _visible_state(door, caller, task_id)
    return commands.show_json(state, run_id)


@router.get("/tasks/{task_id}/history")
async def history(door: DoorDep, caller: CallerDep, task_id: str) -> dict[str, Any]:
    """The task's timeline from the ledger: who acted, in which role, for which unit, how."""
    row = await door.pool.fetchrow(
        "SELECT id, assigning_unit, lead_unit, co_units FROM tasks WHERE id = $1", task_id
    )
    facts = (
        authz.TaskFacts(
            id=task_id,
            assigning_unit=row["assigning_unit"],
            lead_unit=row["lead_unit"],
            co_units=tuple(row["co_units"]),
        )
        if row is not None
        else None
    )
    if facts is None or not authz.may_see(caller.directory, caller.person, facts, caller.today):
        raise ApiError(404, f"no task {task_id}")
    return {"id": task_id, "events": await task_history(door.pool, task_id)}


@router.post("/tasks/{task_id}/{word}", response_model=Accepted)
async def send(
    door: DoorDep,
    caller: CallerDep,
    task_id: str,
    word: str,
    body: Annotated[MessageBody | None, Body()] = None,
    unit: Annotated[str | None, Query(description="the unit, for one who acts for several")] = None,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> Accepted:
    """Send one message (receive, deploy, report, verify, reject, ack, withdraw,
    raise-urgency, difficulty, answer-difficulty, resume, extend, decide-extension,
    contribute, disagree, resolve). The same Idempotency-Key again is answered once. A
    task with too many messages at once for longer than a sender waits (30 s): 503 and one
    line saying it is busy, with Retry-After when the message was not delivered."""
    action = WORDS.get(word)
    if action is None:
        raise ApiError(404, f"no message {word!r}: use one of {', '.join(WORDS)}")
    body = body or MessageBody()
    if body.role is not None and action not in ROLED:
        raise ApiError(422, f"role: only ack and resolve take a role, not {word}")
    facts = await _facts_for(door, caller, task_id, action)
    try:
        standing = authz.decide(caller.directory, caller.person, action, facts, caller.today, unit)
    except authz.Refusal as err:
        raise ApiError(err.status, err.reason) from err
    if body.role is not None and body.role != standing.message_role:
        raise ApiError(403, authz.wrong_role(caller.person, action, task_id, standing, body.role))
    try:
        message = Message(
            unit=standing.unit,
            by=caller.person,
            text=body.text,
            kind=body.kind,
            role=standing.message_role,
            decision=body.decision,
            until=body.until,
            urgency=body.urgency,
            actor=Actor(
                person=caller.person,
                role=standing.role,
                unit=standing.unit,
                via=caller.via,
                stand_in_for=standing.stand_in_for,
            ),
        )
    except ValidationError as err:
        raise ApiError(422, explain(err)) from err
    update_id = f"api:{caller.person}:{action.value}:{idempotency_key}" if idempotency_key else None
    with _translated():
        accepted = await commands.send_message(
            door.client, task_id, action.value, message, update_id=update_id
        )
    assert accepted is not None  # an update, not a signal: it answers
    return Accepted(seq=accepted.seq, stage=accepted.stage)
