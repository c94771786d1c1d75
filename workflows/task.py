"""TaskWorkflow: one assigned task from assignment to close-out, with its escalation ladder."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from workflows.contracts import (
    TERMINAL_STAGES,
    Accepted,
    Action,
    Deadline,
    Envelope,
    Message,
    Stage,
    TaskStart,
    TaskState,
    Window,
)
from workflows.effects import LEAD_UNIT, STAGE, Effects
from workflows.matters import Matters
from workflows.messages import MOVES_TO, action_of, approver, is_co_receipt, refusal
from workflows.policy import ROLE_LABELS, Rung
from workflows.windows import LABELS, PLANS, anchor, local, owner

__all__ = ["LEAD_UNIT", "STAGE", "TaskWorkflow"]

EVENT_KIND = {
    "receive": "received",
    "deploy": "deployed",
    "report:plan": "reported_plan",
    "report:progress": "reported_progress",
    "report:completion": "reported_completion",
    "verify": "verified",
    "reject": "rejected",
    "withdraw": "withdrawn",
}
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
class TaskWorkflow(Matters, Effects):
    @workflow.init
    def __init__(self, start: TaskStart) -> None:
        self.s: TaskState = start.state or TaskState(spec=start.spec)
        self._published: dict[str, object] = {}
        self._deliveries: set[asyncio.Task[None]] = set()
        self._watchers: set[asyncio.Task[None]] = set()
        self._replan_reasons: list[str] = []
        self._held_notices = 0
        if self.s.seq == 0:  # here, not in run(): an update may be handled before run() starts
            self._emit("assigned", unit=self.s.spec.assigning_unit, by=start.assigned_by)

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

    async def _window_deadline(self, name: str, opened: datetime, span: str | None) -> Deadline:
        """A window's deadline: its span from opening, an earlier due date, a later extension."""
        if span is not None:
            deadline = await self._deadline(opened, span)
        else:
            assert self.s.current_due is not None
            deadline = await self._deadline_on(self.s.current_due)
        due = self.s.current_due
        if due is not None and span is not None and name in ("progress", "stage_every"):
            due_deadline = await self._deadline_on(due)
            if due_deadline.at < deadline.at:
                deadline = due_deadline.model_copy(update={"rule": f"due: {due_deadline.rule}"})
        if self.s.extended_until is not None:
            extended = await self._deadline_on(self.s.extended_until)
            if extended.at > deadline.at:
                deadline = extended.model_copy(update={"rule": f"extended: {extended.rule}"})
        return deadline

    async def _open_window(self) -> Window:
        stage, generation = self.s.stage, self.s.advances  # before any await: messages move on
        plan = PLANS[stage]
        opened = anchor(self.s, plan)
        windows = self.s.spec.policy.windows_for(self.s.current_urgency)
        span: str = getattr(windows, plan.name)
        deadline = await self._window_deadline(plan.name, opened, span)
        name = "due" if deadline.rule.startswith("due: ") else plan.name
        self.s.window = Window(
            name=name,
            awaiting=plan.awaiting,
            owner_unit=owner(self.s, plan),
            opened_at=opened,
            deadline=deadline.at,
            rule=deadline.rule,
            stage=stage,
            generation=generation,
            span=span,
            fallback=deadline.fallback,
        )
        if workflow.patched("warning-margin"):
            await self._plan_warning(self.s.window)
        if stage == Stage.RECEIVED and workflow.patched("difficulty-window"):
            until = await self._deadline(opened, windows.difficulty)
            self.s.difficulty_until = until.at
        self._note_fallback(deadline)
        self._emit(
            "deadline_set",
            unit=self.s.window.owner_unit,
            detail=f"{LABELS[name]}: {deadline.rule}",
            deadline=deadline.at,
        )
        return self.s.window

    async def _plan_warning(self, w: Window) -> None:
        margin = self.s.spec.policy.warning_margin
        w.warn_at = max(await self._margin_start(w.deadline, margin), w.opened_at)
        w.warned = w.warn_at <= w.opened_at  # opened inside the margin: yellow, no warning

    def _note_fallback(self, deadline: Deadline) -> None:
        if deadline.fallback:
            workflow.logger.warning(
                "deadline for %s counted Monday-Friday: no published calendar (%s)",
                self.s.spec.id,
                deadline.rule,
            )

    def _warn(self, w: Window) -> None:
        w.warned = True
        event = self._emit(
            "warned",
            unit=w.owner_unit,
            detail=f"{LABELS[w.name]} closes {local(w.deadline)}",
            deadline=w.deadline,
        )
        text = (
            f"【督办预警】{self.s.spec.title}（{self.s.spec.id}）：{LABELS[w.name]}将于 "
            f"{local(w.deadline)} 截止，请{w.owner_unit}按时{w.awaiting}。"
        )
        self._send(event, "lead_unit", w.owner_unit, "warning", text)

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
        if workflow.patched("co-unit-copies"):  # and the co-units it concerns
            for unit in self.s.spec.co_units:
                self._send(event, "co_unit", unit, "copy", text)

    # ---- re-planning: the calendar changed, the urgency rose, an extension was approved --

    async def _replan_forever(self) -> None:
        while True:
            await workflow.wait_condition(lambda: bool(self._replan_reasons))
            reasons = "; ".join(self._replan_reasons)
            await self._replan(reasons)
            self._replan_reasons.clear()

    async def _replan(self, reason: str) -> None:
        w = self.s.window
        if w is None or self.s.stage in TERMINAL_STAGES or w.stage != self.s.stage:
            return
        windows = self.s.spec.policy.windows_for(self.s.current_urgency)
        span = getattr(windows, w.name, None) if w.name != "due" else None
        new = await self._window_deadline(w.name, w.opened_at, span)
        for m in self.s.matters:
            if not m.resolved and m.deadline is not None and m.opened_at is not None:
                moved = await self._deadline(m.opened_at, m.ladder[m.level][1])
                m.deadline, m.rule = moved.at, moved.rule
        if new.at == w.deadline and new.fallback == w.fallback:
            self.s.replans += 1  # matters may have moved
            return
        old = w.deadline
        w.deadline, w.rule, w.fallback, w.span = new.at, new.rule, new.fallback, span
        if w.warn_at is not None:
            await self._plan_warning(w)
        if w.missed and new.at > workflow.now():  # the window is open again: the climb stops
            w.missed = False
            self.s.escalation_level, self.s.level_deadline, self.s.held_at_level = 0, None, 0
        self._note_fallback(new)
        self.s.replans += 1
        self._emit(
            "replanned",
            unit=w.owner_unit,
            detail=f"{LABELS[w.name]}: {local(old)} → {local(new.at)} ({reason}; {new.rule})",
            deadline=new.at,
        )

    # ---- departments' messages: updates with validators, and the same as signals -------

    def _apply(self, name: str, msg: Message) -> Accepted:
        handler = getattr(self, f"_on_{name}", None)
        if handler is not None:
            handler(msg)
            return Accepted(seq=self.s.seq, stage=self.s.stage)
        if is_co_receipt(name, msg, self.s):
            self.s.co_received.append(msg.unit)
            event = self._emit("co_received", unit=msg.unit, by=msg.by, detail=msg.text)
            return Accepted(seq=event.seq, stage=self.s.stage)
        action = action_of(name, msg)
        self.s.stage = MOVES_TO[action]
        self.s.advances += 1
        self.s.extended_until = None  # an extension is for the window it was asked in
        if name == "report":
            self.s.last_report = msg.text
        if name == "reject":
            self.s.rework_reason = msg.text
        event = self._emit(EVENT_KIND[action], unit=msg.unit, by=msg.by, detail=msg.text)
        return Accepted(seq=event.seq, stage=self.s.stage)

    def _on_ack(self, msg: Message) -> None:
        self.s.acks += 1
        self.s.held_at_level = self.s.escalation_level
        self._emit(
            "acknowledged", unit=msg.unit, by=msg.by, level=self.s.escalation_level, detail=msg.text
        )

    def _on_raise_urgency(self, msg: Message) -> None:
        old = self.s.current_urgency
        self.s.urgency = msg.urgency
        self._emit("urgency_raised", unit=msg.unit, by=msg.by, detail=f"{old} → {msg.urgency}")
        self._replan_reasons.append(f"urgency raised to {msg.urgency}")

    def _on_difficulty(self, msg: Message) -> None:
        self._emit("difficulty_reported", unit=msg.unit, by=msg.by, detail=msg.text)
        self._open_matter("difficulty", msg.unit, self.s.spec.assigning_unit, msg.text)

    def _on_answer_difficulty(self, msg: Message) -> None:
        matter = self.s.open_matter("difficulty")
        assert matter is not None
        matter.resolved, matter.resolution = True, f"{msg.decision}: {msg.text}".rstrip(": ")
        self._emit("difficulty_answered", unit=msg.unit, by=msg.by, detail=matter.resolution)
        if msg.decision == "suspend":
            self.s.suspended_at = workflow.now()
            self.s.replans += 1
            self._emit("suspended", unit=msg.unit, by=msg.by, detail=msg.text)
        elif msg.decision == "new_approach":
            self.s.stage = Stage.DEPLOYED  # a new plan is due, counted from now
            self.s.advances += 1
            self._emit("new_approach", unit=msg.unit, by=msg.by, detail=msg.text)

    def _on_resume(self, msg: Message) -> None:
        assert self.s.suspended_at is not None
        paused = workflow.now() - self.s.suspended_at
        self.s.suspended_at = None
        w = self.s.window
        if w is not None:  # every clock stood still: move each by the pause
            w.deadline += paused
            w.warn_at = w.warn_at + paused if w.warn_at else None
        if self.s.level_deadline is not None:
            self.s.level_deadline += paused
        self.s.replans += 1
        self._emit(
            "resumed",
            unit=msg.unit,
            by=msg.by,
            detail=f"paused {_span(paused)}; {msg.text}",
            deadline=w.deadline if w else None,
        )

    def _on_request_extension(self, msg: Message) -> None:
        self._emit(
            "extension_requested", unit=msg.unit, by=msg.by, detail=f"until {msg.until}: {msg.text}"
        )
        self._open_matter("extension", msg.unit, approver(self.s), msg.text, until=msg.until)

    def _on_decide_extension(self, msg: Message) -> None:
        matter = self.s.open_matter("extension")
        assert matter is not None and matter.until is not None
        matter.resolved, matter.resolution = True, f"{msg.decision}: {msg.text}".rstrip(": ")
        if msg.decision == "approve":
            self.s.extended_until = matter.until
            if self.s.current_due is not None:
                self.s.due = matter.until
            self._emit(
                "extension_approved", unit=msg.unit, by=msg.by, detail=f"until {matter.until}"
            )
            self._replan_reasons.append(f"extension to {matter.until} approved by {msg.unit}")
        else:
            self._emit("extension_refused", unit=msg.unit, by=msg.by, detail=msg.text)

    def _on_contribute(self, msg: Message) -> None:
        self.s.contributions += 1
        event = self._emit("contributed", unit=msg.unit, by=msg.by, detail=msg.text)
        text = (
            f"【督办】{self.s.spec.title}（{self.s.spec.id}）：{msg.unit}报送协办情况：{msg.text}"
        )
        self._send(event, "lead_unit", self.s.spec.lead_unit, "info", text)

    def _on_disagree(self, msg: Message) -> None:
        self._emit("disagreement_raised", unit=msg.unit, by=msg.by, detail=msg.text)
        self._open_matter("disagreement", msg.unit, self.s.spec.assigning_unit, msg.text)

    def _on_resolve(self, msg: Message) -> None:
        matter = self.s.open_matter("disagreement")
        assert matter is not None
        matter.resolved, matter.resolution = True, msg.text
        role = matter.ladder[matter.level][0]
        self._emit("disagreement_resolved", unit=msg.unit, by=msg.by, detail=f"{role}: {msg.text}")

    def _on_signal(self, name: str, msg: Message) -> None:
        reason = refusal(name, msg, self.s, workflow.now())
        if reason is None:
            self._apply(name, msg)
        else:
            workflow.logger.info("refused %s signal: %s", name, reason)
            self._emit("refused", unit=msg.unit, by=msg.by, detail=f"{name}: {reason}")

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


def _span(delta: timedelta) -> str:
    hours, rest = divmod(int(delta.total_seconds()), 3600)
    return f"{hours}h{rest // 60:02d}m"
