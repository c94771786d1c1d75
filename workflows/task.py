"""TaskWorkflow: one assigned task from assignment to close-out, with its escalation ladder."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from workflows import releases
from workflows.contracts import (
    TERMINAL_STAGES,
    Accepted,
    Action,
    Envelope,
    Message,
    Notice,
    TaskStart,
    TaskState,
    Window,
)
from workflows.effects import LEAD_UNIT, STAGE
from workflows.handlers import Handlers
from workflows.messages import refusal
from workflows.policy import ROLE_LABELS, Rung
from workflows.windows import LABELS, local

__all__ = ["LEAD_UNIT", "STAGE", "TaskWorkflow"]

KEEP_EVENTS = 50  # events carried over a continue-as-new; the ledger keeps them all


def _message_update(name: Action) -> Any:
    """An update named `name` whose validator refuses what `refusal` refuses."""

    # `self` stays unannotated: the SDK leaves an unannotated first "self" out of the
    # update's argument types.
    async def handler(self, msg: Message) -> Accepted:  # type: ignore[no-untyped-def]
        accepted: Accepted = self._apply(name, msg)
        return accepted

    handler.__name__ = handler.__qualname__ = name
    update = workflow.update(name=name)(handler)

    def validate(self, msg: Message) -> None:  # type: ignore[no-untyped-def]
        reason = refusal(name, msg, self.s, workflow.now())
        if reason is not None:
            raise ApplicationError(reason, type="Refused", non_retryable=True)

    update.validator(validate)
    return update


@workflow.defn
class TaskWorkflow(Handlers):
    @workflow.init
    def __init__(self, start: TaskStart) -> None:
        self.s: TaskState = start.state or TaskState(spec=start.spec)
        self._published: dict[str, object] = {}
        self._deliveries: set[asyncio.Task[None]] = set()
        self._outgoing: dict[int, list[Notice]] = {}
        self._watchers: set[asyncio.Task[None]] = set()
        self._replan_reasons: list[str] = []
        self._held_notices = 0
        self._working_out = 0  # steps whose consequences are being computed
        if start.state is None:
            self.s.rules = releases.started_under()
        if self.s.seq == 0:  # here, not in run(): an update may be handled before run() starts
            self._emit("assigned", unit=self.s.spec.assigning_unit, by=start.assigned_by)
            self._count("duban_tasks_started", "tasks started", urgency=self.s.spec.urgency)

    # ---- the life of the task ---------------------------------------------------------

    @workflow.run
    async def run(self, start: TaskStart) -> TaskState:
        recorder = asyncio.create_task(self._record_forever())
        replanner = asyncio.create_task(self._replan_forever())
        for matter in self.s.matters:  # carried over a continue-as-new
            if not matter.resolved:
                self._watch(matter.key)
        while self.s.stage not in TERMINAL_STAGES and not self._continue_as_new_due():
            await self._supervise_stage()
        await workflow.wait_condition(
            lambda: (
                not self.s.unrecorded
                and not self._deliveries
                and not self._replan_reasons
                and workflow.all_handlers_finished()
            )
        )
        recorder.cancel()
        replanner.cancel()
        if self.s.stage not in TERMINAL_STAGES:
            self._continue_as_new()
        return self.s

    def _continue_as_new_due(self) -> bool:
        info = workflow.info()
        return (
            info.get_current_history_length() > self.s.spec.policy.history_limit
            or info.is_continue_as_new_suggested()
        )

    def _continue_as_new(self) -> None:
        workflow.logger.info(
            "continuing as new after %d events", workflow.info().get_current_history_length()
        )
        self.s.events = self.s.events[-KEEP_EVENTS:]
        self.s.runs += 1
        workflow.continue_as_new(TaskStart(spec=self.s.spec, state=self.s))

    async def _supervise_stage(self) -> None:
        mark = self.s.advances
        w = self.s.window
        if w is None or w.generation != mark:  # else carried over a continue-as-new
            w = await self._open_window()
            if self.s.advances != mark:
                return  # the awaited message came while the deadline was being computed
        while self._waiting(mark):
            w = self.s.window
            assert w is not None
            if self.s.suspended_at is not None:
                await workflow.wait_condition(lambda: not self._suspended_waiting(mark))
                continue
            replans = self.s.replans
            if w.missed:
                await self._climb(w, mark)
                continue
            if w.warn_at and not w.warned and workflow.now() < w.warn_at:
                if await self._sleep_until(w.warn_at, mark, replans, f"{LABELS[w.name]}预警"):
                    self._warn(w)
                continue
            if await self._sleep_until(w.deadline, mark, replans, f"{LABELS[w.name]}截止"):
                w.missed = True
                self.s.misses += 1
                self._emit("missed", unit=w.owner_unit, detail=f"{LABELS[w.name]} missed")
                await self._climb(w, mark)

    def _settling(self) -> bool:
        """A step is being worked out (a window opening, a climb): the ledger waits for it.
        The stage moving on counts from the message, before the window starts opening."""
        w = self.s.window
        return self._working_out > 0 or (
            (w is None or w.generation != self.s.advances)
            and self.s.stage not in TERMINAL_STAGES
            and not self._continue_as_new_due()
        )

    def _waiting(self, mark: int) -> bool:
        return (
            self.s.advances == mark
            and self.s.stage not in TERMINAL_STAGES
            and not self._continue_as_new_due()
        )

    def _suspended_waiting(self, mark: int) -> bool:
        return self.s.suspended_at is not None and self._waiting(mark)

    async def _sleep_until(self, at: datetime, mark: int, replans: int, what: str) -> bool:
        """True when `at` came with nothing else having changed."""
        try:
            await workflow.wait_condition(
                lambda: (
                    not self._waiting(mark)
                    or self.s.replans != replans
                    or self.s.suspended_at is not None
                ),
                timeout=self._until(at),
                timeout_summary=f"{what} {local(at)}",
            )
        except TimeoutError:
            return True
        return False

    async def _climb(self, w: Window, mark: int) -> None:
        """Climb the ladder one level at a time until an answer stops it."""
        ladder = self.s.spec.policy.ladder_for(self.s.current_urgency)
        replans = self.s.replans
        resuming = self.s.escalation_level > 0 and self.s.level_deadline is not None

        def climbing() -> bool:
            return self._waiting(mark) and self.s.replans == replans

        while climbing():
            if not resuming:
                await self._step_up(w, ladder)
            resuming = False
            rung = ladder[self.s.escalation_level - 1]
            if not await self._await_answer(rung, climbing):
                break
        if self.s.advances != mark:
            self.s.escalation_level, self.s.level_deadline, self.s.held_at_level = 0, None, 0

    async def _step_up(self, w: Window, ladder: list[Rung]) -> None:
        with self._working():
            await self._climb_one_level(w, ladder)

    async def _climb_one_level(self, w: Window, ladder: list[Rung]) -> None:
        level = self.s.escalation_level
        reminding = level == len(ladder)
        level = min(level + 1, len(ladder))
        rung = ladder[level - 1]
        answer_by = await self._deadline(workflow.now(), rung.answer_within)
        self.s.escalation_level, self.s.level_deadline = level, answer_by.at
        event = self._emit(
            "reminded" if reminding else "escalated",
            unit=w.owner_unit,
            level=level,
            detail=f"{ROLE_LABELS[rung.level]}: answer by {local(answer_by.at)}",
            deadline=answer_by.at,
        )
        self._notify_ladder(event, w, rung, ladder[: level - 1], reminding)
        self._count("duban_escalations", "escalations by level", level=str(level))

    async def _await_answer(self, rung: Rung, climbing: Any) -> bool:
        """Wait out one level's answer window (True: it ran out); an acknowledgement holds
        the level for one more window."""
        acks = self.s.acks
        while climbing():
            assert self.s.level_deadline is not None
            try:
                await workflow.wait_condition(
                    lambda acks=acks: not climbing() or self.s.acks != acks,  # type: ignore[misc]
                    timeout=self._until(self.s.level_deadline),
                    timeout_summary=(
                        f"{ROLE_LABELS[rung.level]}答复截止 {local(self.s.level_deadline)}"
                    ),
                )
            except TimeoutError:
                return True
            if not climbing():
                return False
            acks = self.s.acks
            answer_by = await self._deadline(workflow.now(), rung.answer_within)
            self.s.level_deadline = answer_by.at
            self._emit(
                "held",
                level=self.s.escalation_level,
                detail=f"level {self.s.escalation_level} took the matter up; "
                f"held until {local(answer_by.at)}",
                deadline=answer_by.at,
            )
        return False

    def _notify_ladder(
        self, event: Any, window: Window, rung: Rung, below: list[Rung], reminding: bool
    ) -> None:
        late = local(window.deadline)
        what = f"{LABELS[window.name]}（应于 {late} 前{window.awaiting}）已逾期"
        ask = f"请于 {local(event.deadline or window.deadline)} 前督促 {window.owner_unit} 反馈。"
        head = f"【督办】{self.s.spec.title}（{self.s.spec.id}）：{window.owner_unit}{what}，"
        text = f"{head}已升级至{ROLE_LABELS[rung.level]}（第 {event.level} 级）。{ask}"
        if reminding:
            text = f"{head}仍未反馈，再次提醒{ROLE_LABELS[rung.level]}。{ask}"
        self._send(
            event, rung.level, window.owner_unit, "reminder" if reminding else "escalation", text
        )
        if reminding:
            return
        for lower in below:  # everyone on the way up is told
            self._send(event, lower.level, window.owner_unit, "copy", text)
        if self._has("co-unit-copies"):  # and the co-units it concerns
            for unit in self.s.spec.co_units:
                self._send(event, "co_unit", unit, "copy", text)

    # One update per department message, each with a validator that refuses at once.
    receive = _message_update("receive")
    deploy = _message_update("deploy")
    report = _message_update("report")
    verify = _message_update("verify")
    reject = _message_update("reject")
    ack = _message_update("ack")
    withdraw = _message_update("withdraw")
    raise_urgency = _message_update("raise_urgency")
    difficulty = _message_update("difficulty")
    answer_difficulty = _message_update("answer_difficulty")
    resume = _message_update("resume")
    request_extension = _message_update("request_extension")
    decide_extension = _message_update("decide_extension")
    contribute = _message_update("contribute")
    disagree = _message_update("disagree")
    resolve = _message_update("resolve")

    @workflow.signal
    def message(self, envelope: Envelope) -> None:
        """Fire-and-forget: the same messages as the updates; a refusal is recorded."""
        self._on_signal(envelope.action, envelope.message)

    @workflow.signal
    def calendar_changed(self, reason: str) -> None:
        """The working-day calendar changed: recompute the pending deadlines."""
        self._replan_reasons.append(reason or "calendar changed")

    @workflow.query
    def status(self) -> TaskState:
        return self.s

    @workflow.query
    def held_notices(self) -> int:
        """How many notices wait for working hours now."""
        return self._held_notices
