"""TaskWorkflow: one assigned task from assignment to close-out, with its escalation ladder.

The shell around the core (workflows/core): it waits on timers and messages, asks the
calendar, and hands each step to a pure rule; the rule's intents go to its Effects."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from workflows import releases
from workflows.contracts import Accepted, Deadline, Envelope, Message, TaskStart, TaskState
from workflows.core import climb, deadlines, matters, messages
from workflows.core.decision import Decision, Intent, Replan, Watch
from workflows.core.refusals import refusal
from workflows.effects import Effects, until
from workflows.names import TERMINAL_STAGES, Action, EventKind
from workflows.policy import ROLE_LABELS
from workflows.windows import LABELS, local

KEEP_EVENTS = 50  # events carried over a continue-as-new; the ledger keeps them all


class TaskRules:
    """Runs the core for one task: the patches that apply (all up to the task's release,
    the newer ones asked), and each intent carried out the moment it is decided."""

    def __init__(self, host: TaskWorkflow) -> None:
        self.host = host

    def has(self, patch: str) -> bool:
        return releases.has(self.host.s.rules, patch)

    def decided(self, intent: Intent) -> None:
        match intent:
            case Replan(reason=reason):
                self.host.replan_reasons.append(reason)
            case Watch(key=key):
                self.host.watch(key)
            case _:
                self.host.effects.carry_out(intent)


@workflow.defn
class TaskWorkflow:
    @workflow.init
    def __init__(self, start: TaskStart) -> None:
        self.s: TaskState = start.state or TaskState(spec=start.spec)
        self.rules = TaskRules(self)
        self.effects = Effects(self)
        self._watchers: set[asyncio.Task[None]] = set()
        self.replan_reasons: list[str] = []
        self._working_out = 0  # steps whose consequences are being computed
        if start.state is None:
            self.s.rules = releases.started_under()
        if self.s.seq == 0:  # here, not in run(): an update may be handled before run() starts
            self.apply(messages.assigned(self.s, start.assigned_by, workflow.now(), self.rules))

    def apply(self, decision: Decision) -> None:
        """Take the state a rule decided; its intents were carried out as it decided them."""
        self.s = decision.state

    # ---- the life of the task ---------------------------------------------------------

    @workflow.run
    async def run(self, start: TaskStart) -> TaskState:
        recorder = asyncio.create_task(self.effects.record_forever())
        replanner = asyncio.create_task(self._replan_forever())
        for matter in self.s.matters:  # carried over a continue-as-new
            if not matter.resolved:
                self.watch(matter.key)
        while self.s.stage not in TERMINAL_STAGES and not self._continue_as_new_due():
            await self._supervise_stage()
        await workflow.wait_condition(
            lambda: (
                not self.s.unrecorded
                and not self.effects.riding
                and not self.effects.deliveries
                and not self.replan_reasons
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
        state = messages.carried_over(self.s, KEEP_EVENTS)
        workflow.continue_as_new(TaskStart(spec=state.spec, state=state))

    async def _supervise_stage(self) -> None:
        mark = self.s.advances
        w = self.s.window
        if w is None or w.generation != mark:  # else carried over a continue-as-new
            await self._open_window()
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
                await self._climb(mark)
                continue
            if w.warn_at and not w.warned and workflow.now() < w.warn_at:
                if await self._sleep_until(w.warn_at, mark, replans, f"{LABELS[w.name]}预警"):
                    self.apply(deadlines.warn(self.s, workflow.now(), self.rules))
                continue
            if await self._sleep_until(w.deadline, mark, replans, f"{LABELS[w.name]}截止"):
                self.apply(deadlines.miss(self.s, workflow.now(), self.rules))
                await self._climb(mark)

    def settling(self) -> bool:
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
                timeout=until(at),
                timeout_summary=f"{what} {local(at)}",
            )
        except TimeoutError:
            return True
        return False

    # ---- deadlines ----------------------------------------------------------------------

    async def _open_window(self) -> None:
        self._working_out += 1
        try:
            await self._open_next_window()
        finally:
            self._working_out -= 1

    async def _open_next_window(self) -> None:
        ask = deadlines.next_window(self.s)  # before any await: messages move on
        deadline = await self._window_deadline(ask.plan.name, ask.opened, ask.span)
        self.apply(Decision(deadlines.set_window(self.s, ask, deadline)))
        if self.rules.has("warning-margin"):
            await self._plan_warning()
        if ask.stage == "received" and self.rules.has("difficulty-window"):
            windows = self.s.spec.policy.windows_for(self.s.current_urgency)
            until_ = await self.effects.deadline(ask.opened, windows.difficulty)
            self.apply(Decision(deadlines.set_difficulty_window(self.s, until_)))
        self.apply(deadlines.window_set(self.s, deadline, workflow.now(), self.rules))

    async def _window_deadline(self, name: str, opened: datetime, span: str | None) -> Deadline:
        """A window's deadline: its span from opening, an earlier due date, a later extension."""
        if span is not None:
            deadline = await self.effects.deadline(opened, span)
        else:
            assert self.s.current_due is not None
            deadline = await self.effects.deadline_on(self.s.current_due)
        due = self.s.current_due
        if due is not None and span is not None and name in ("progress", "stage_every"):
            deadline = deadlines.earliest(deadline, await self.effects.deadline_on(due))
        if self.s.extended_until is not None:
            extension = await self.effects.deadline_on(self.s.extended_until)
            deadline = deadlines.extended(deadline, extension)
        return deadline

    async def _plan_warning(self) -> None:
        w = self.s.window
        assert w is not None
        starts = await self.effects.margin_start(w.deadline, self.s.spec.policy.warning_margin)
        self.apply(Decision(deadlines.plan_warning(self.s, starts)))

    async def _replan_forever(self) -> None:
        while True:
            await workflow.wait_condition(lambda: bool(self.replan_reasons))
            reasons = "；".join(self.replan_reasons)
            await self._replan(reasons)
            self.replan_reasons.clear()

    async def _replan(self, reason: str) -> None:
        if not deadlines.replannable(self.s):
            return
        w = self.s.window
        assert w is not None
        span = deadlines.replan_span(self.s)
        new = await self._window_deadline(w.name, w.opened_at, span)
        # A suspension's pause stays added, whatever else moves (patched: before release 1
        # a re-plan dropped it and made a resumed task overdue).
        if w.paused and self.rules.has("replan-keeps-pause"):
            new = deadlines.keep_pause(new, w.paused)
        i = 0
        while i < len(self.s.matters):  # as they stand after each answer: one may come
            m = self.s.matters[i]
            i += 1
            if m.key not in deadlines.open_matters(self.s):
                continue
            assert m.opened_at is not None
            moved = await self.effects.deadline(m.opened_at, m.ladder[m.level][1])
            pause = timedelta(seconds=m.paused)
            if m.paused and not self.rules.has("replan-keeps-pause"):
                pause = timedelta(0)
            self.apply(Decision(deadlines.move_matter(self.s, m.key, moved, pause)))
        if deadlines.unchanged(self.s, new):
            self.apply(Decision(deadlines.bump(self.s)))  # matters may have moved
            return
        old = self.s.window.deadline if self.s.window else new.at
        self.apply(Decision(deadlines.move_window(self.s, new, span)))
        if self.s.window is not None and self.s.window.warn_at is not None:
            await self._plan_warning()
        self.apply(deadlines.replanned(self.s, old, new, reason, workflow.now(), self.rules))

    # ---- the ladder ---------------------------------------------------------------------

    async def _climb(self, mark: int) -> None:
        """Climb the ladder one level at a time until an answer stops it."""
        replans = self.s.replans
        resuming = self.s.escalation_level > 0 and self.s.level_deadline is not None

        def climbing() -> bool:
            return self._waiting(mark) and self.s.replans == replans

        backs_off = self.rules.has("reminders-back-off")
        while climbing():
            if backs_off and climb.reminders_spent(self.s):
                if self.s.level_deadline is not None:  # not told yet (else carried over)
                    self.apply(climb.stalled(self.s, workflow.now(), self.rules))
                await workflow.wait_condition(lambda: not climbing())
                break
            if not resuming:
                await self._step_up(backs_off)
            resuming = False
            if not await self._await_answer(climbing):
                break
        self.apply(Decision(climb.settle(self.s, mark)))

    async def _step_up(self, backs_off: bool) -> None:
        self._working_out += 1
        try:
            span = climb.answer_window(self.s, backs_off)
            answer_by = await self.effects.deadline(workflow.now(), span)
            self.apply(climb.step_up(self.s, answer_by, workflow.now(), self.rules))
        finally:
            self._working_out -= 1

    async def _await_answer(self, climbing: Callable[[], bool]) -> bool:
        """Wait out one level's answer window (True: it ran out); an acknowledgement holds
        the level for one more window."""
        rung = climb.current_rung(self.s)
        acks = self.s.acks
        while climbing():
            assert self.s.level_deadline is not None
            try:
                await workflow.wait_condition(
                    lambda acks=acks: not climbing() or self.s.acks != acks,  # type: ignore[misc]
                    timeout=until(self.s.level_deadline),
                    timeout_summary=(
                        f"{ROLE_LABELS[rung.level]}答复截止 {local(self.s.level_deadline)}"
                    ),
                )
            except TimeoutError:
                return True
            if not climbing():
                return False
            acks = self.s.acks
            answer_by = await self.effects.deadline(workflow.now(), rung.answer_within)
            self.apply(climb.held(self.s, answer_by, workflow.now(), self.rules))
        return False

    # ---- matters ------------------------------------------------------------------------

    def watch(self, key: str) -> None:
        watcher = asyncio.create_task(self._watch_matter(key))
        self._watchers.add(watcher)
        watcher.add_done_callback(self._watchers.discard)

    def _matter_open(self, key: str) -> bool:
        return matters.watching(self.s, key, self.s.stage in TERMINAL_STAGES)

    async def _watch_matter(self, key: str) -> None:
        label = LABELS[matters.find(self.s, key).kind]
        # Patched: before release 1 a matter's clock ran on through a suspension.
        pauses = self.rules.has("matters-pause")
        while self._matter_open(key):
            if pauses and self.s.suspended_at is not None:  # every clock stops
                await workflow.wait_condition(
                    lambda: self.s.suspended_at is None or not self._matter_open(key)
                )
                continue
            m = matters.find(self.s, key)
            if m.deadline is None:
                answer_by = await self.effects.deadline(workflow.now(), m.ladder[m.level][1])
                self.apply(matters.level_opened(self.s, key, answer_by, workflow.now(), self.rules))
            deadline = matters.find(self.s, key).deadline
            assert deadline is not None
            replans = self.s.replans
            try:
                await workflow.wait_condition(
                    lambda replans=replans: (  # type: ignore[misc]
                        not self._matter_open(key)
                        or self.s.replans != replans
                        or (pauses and self.s.suspended_at is not None)
                    ),
                    timeout=until(deadline),
                    timeout_summary=f"{label}答复截止 {local(deadline)}",
                )
                continue
            except TimeoutError:
                pass
            self.apply(matters.missed(self.s, key, workflow.now(), self.rules))

    # ---- messages -----------------------------------------------------------------------

    def _accept(self, action: Action, msg: Message) -> Accepted:
        self.apply(messages.accept(self.s, action, msg, workflow.now(), self.rules))
        return Accepted(seq=self.s.seq, stage=self.s.stage)

    def _refuse(self, action: Action, msg: Message) -> None:
        reason = refusal(action, msg, self.s, workflow.now())
        if reason is not None:
            raise ApplicationError(reason, type="Refused", non_retryable=True)

    @workflow.update
    async def receive(self, msg: Message) -> Accepted:
        """The lead unit (or a co-unit) signs for the task (签收)."""
        return self._accept(Action.RECEIVE, msg)

    @receive.validator
    def _receive_allowed(self, msg: Message) -> None:
        self._refuse(Action.RECEIVE, msg)

    @workflow.update
    async def deploy(self, msg: Message) -> Accepted:
        """The lead unit has deployed the work (部署)."""
        return self._accept(Action.DEPLOY, msg)

    @deploy.validator
    def _deploy_allowed(self, msg: Message) -> None:
        self._refuse(Action.DEPLOY, msg)

    @workflow.update
    async def report(self, msg: Message) -> Accepted:
        """The lead unit reports its plan, progress or completion."""
        return self._accept(Action.REPORT, msg)

    @report.validator
    def _report_allowed(self, msg: Message) -> None:
        self._refuse(Action.REPORT, msg)

    @workflow.update
    async def verify(self, msg: Message) -> Accepted:
        """The assigning unit verifies the completion and closes the task (核实销号)."""
        return self._accept(Action.VERIFY, msg)

    @verify.validator
    def _verify_allowed(self, msg: Message) -> None:
        self._refuse(Action.VERIFY, msg)

    @workflow.update
    async def reject(self, msg: Message) -> Accepted:
        """The assigning unit sends a completion back for more work."""
        return self._accept(Action.REJECT, msg)

    @reject.validator
    def _reject_allowed(self, msg: Message) -> None:
        self._refuse(Action.REJECT, msg)

    @workflow.update
    async def ack(self, msg: Message) -> Accepted:
        """The holder of the current level takes the matter up (我已知悉并督办)."""
        return self._accept(Action.ACK, msg)

    @ack.validator
    def _ack_allowed(self, msg: Message) -> None:
        self._refuse(Action.ACK, msg)

    @workflow.update
    async def withdraw(self, msg: Message) -> Accepted:
        """The assigning unit withdraws the task, with its reason."""
        return self._accept(Action.WITHDRAW, msg)

    @withdraw.validator
    def _withdraw_allowed(self, msg: Message) -> None:
        self._refuse(Action.WITHDRAW, msg)

    @workflow.update
    async def raise_urgency(self, msg: Message) -> Accepted:
        """The assigning unit raises the urgency: the windows shorten, the ladder speeds up."""
        return self._accept(Action.RAISE_URGENCY, msg)

    @raise_urgency.validator
    def _raise_urgency_allowed(self, msg: Message) -> None:
        self._refuse(Action.RAISE_URGENCY, msg)

    @workflow.update
    async def difficulty(self, msg: Message) -> Accepted:
        """The lead unit reports a difficulty in carrying the task out (S0 §3)."""
        return self._accept(Action.DIFFICULTY, msg)

    @difficulty.validator
    def _difficulty_allowed(self, msg: Message) -> None:
        self._refuse(Action.DIFFICULTY, msg)

    @workflow.update
    async def answer_difficulty(self, msg: Message) -> Accepted:
        """The office answers a difficulty: continue, suspend or a new approach."""
        return self._accept(Action.ANSWER_DIFFICULTY, msg)

    @answer_difficulty.validator
    def _answer_difficulty_allowed(self, msg: Message) -> None:
        self._refuse(Action.ANSWER_DIFFICULTY, msg)

    @workflow.update
    async def resume(self, msg: Message) -> Accepted:
        """The office resumes a suspended task; every clock moves by the pause."""
        return self._accept(Action.RESUME, msg)

    @resume.validator
    def _resume_allowed(self, msg: Message) -> None:
        self._refuse(Action.RESUME, msg)

    @workflow.update
    async def request_extension(self, msg: Message) -> Accepted:
        """The lead unit asks for more time, until a date, with its reason."""
        return self._accept(Action.REQUEST_EXTENSION, msg)

    @request_extension.validator
    def _request_extension_allowed(self, msg: Message) -> None:
        self._refuse(Action.REQUEST_EXTENSION, msg)

    @workflow.update
    async def decide_extension(self, msg: Message) -> Accepted:
        """The approver grants or refuses more time."""
        return self._accept(Action.DECIDE_EXTENSION, msg)

    @decide_extension.validator
    def _decide_extension_allowed(self, msg: Message) -> None:
        self._refuse(Action.DECIDE_EXTENSION, msg)

    @workflow.update
    async def contribute(self, msg: Message) -> Accepted:
        """A co-unit files its contribution; the lead unit is told."""
        return self._accept(Action.CONTRIBUTE, msg)

    @contribute.validator
    def _contribute_allowed(self, msg: Message) -> None:
        self._refuse(Action.CONTRIBUTE, msg)

    @workflow.update
    async def disagree(self, msg: Message) -> Accepted:
        """A unit of the task raises a disagreement for coordination (S0 §7)."""
        return self._accept(Action.DISAGREE, msg)

    @disagree.validator
    def _disagree_allowed(self, msg: Message) -> None:
        self._refuse(Action.DISAGREE, msg)

    @workflow.update
    async def resolve(self, msg: Message) -> Accepted:
        """The coordination level resolves a disagreement."""
        return self._accept(Action.RESOLVE, msg)

    @resolve.validator
    def _resolve_allowed(self, msg: Message) -> None:
        self._refuse(Action.RESOLVE, msg)

    @workflow.signal
    def message(self, envelope: Envelope) -> None:
        """Fire-and-forget: the same messages as the updates; a refusal is recorded."""
        action, msg = envelope.action, envelope.message
        reason = refusal(action, msg, self.s, workflow.now())
        if reason is None:
            self._accept(action, msg)
            return
        workflow.logger.info("refused %s signal: %s", action, reason)
        self.apply(messages.refused(self.s, action, msg, reason, workflow.now(), self.rules))

    @workflow.signal
    def calendar_changed(self, reason: str) -> None:
        """The working-day calendar changed: recompute the pending deadlines."""
        self.effects.forget_calendar()
        self.replan_reasons.append(reason or "工作日历已更新")

    @workflow.query
    def status(self) -> TaskState:
        return self.s

    @workflow.query
    def held_notices(self) -> int:
        """How many notices wait for working hours now."""
        return self.effects.held_notices


__all__ = ["EventKind", "TaskWorkflow"]
