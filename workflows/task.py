"""TaskWorkflow: one assigned task from assignment to close-out, with its escalation ladder."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey, SearchAttributeUpdate
from temporalio.exceptions import ActivityError, ApplicationError

from workflows import activity_names, durations
from workflows.contracts import (
    TERMINAL_STAGES,
    Accepted,
    Action,
    Deadline,
    DeadlineRequest,
    Envelope,
    Event,
    LedgerBatch,
    Message,
    Notice,
    NoticeKind,
    NoticeOutcome,
    Stage,
    TaskSnapshot,
    TaskStart,
    TaskState,
    Window,
)
from workflows.messages import MOVES_TO, action_of, refusal
from workflows.policy import ROLE_LABELS, Role, Rung
from workflows.windows import LABELS, PLANS, anchor, local, owner

STAGE = SearchAttributeKey.for_keyword("TaskStage")
LEAD_UNIT = SearchAttributeKey.for_keyword("LeadUnit")
LEVEL = SearchAttributeKey.for_int("EscalationLevel")
NEXT_DEADLINE = SearchAttributeKey.for_datetime("NextDeadline")

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

# The ledger must never lose a step: keep retrying while PostgreSQL is away.
LEDGER_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1)
)
# A notification is retried with backoff, then recorded as failed so the climb goes on.
NOTICE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=8,
    non_retryable_error_types=["NotificationRejected"],
)


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
        reason = refusal(name, msg, self.s)
        if reason is not None:
            raise ApplicationError(reason, type="Refused", non_retryable=True)

    update.validator(validate)
    return update


@workflow.defn
class TaskWorkflow:
    @workflow.init
    def __init__(self, start: TaskStart) -> None:
        self.s: TaskState = start.state or TaskState(spec=start.spec)
        self._published: dict[str, object] = {}
        self._deliveries: set[asyncio.Task[None]] = set()
        if self.s.seq == 0:  # here, not in run(): an update may be handled before run() starts
            self._emit("assigned", unit=self.s.spec.assigning_unit, by=start.assigned_by)

    # ---- the life of the task ---------------------------------------------------------

    @workflow.run
    async def run(self, start: TaskStart) -> TaskState:
        recorder = asyncio.create_task(self._record_forever())
        while self.s.stage not in TERMINAL_STAGES:
            await self._supervise_stage()
        await workflow.wait_condition(
            lambda: (
                not self.s.unrecorded and not self._deliveries and workflow.all_handlers_finished()
            )
        )
        recorder.cancel()
        return self.s

    async def _supervise_stage(self) -> None:
        mark = self.s.advances
        window = await self._open_window()
        if self.s.advances != mark:
            return  # the awaited message came while the deadline was being computed
        try:
            await workflow.wait_condition(
                lambda: self.s.advances != mark,
                timeout=self._until(window.deadline),
                timeout_summary=f"{LABELS[window.name]}截止 {local(window.deadline)}",
            )
        except TimeoutError:
            await self._climb(window, mark)

    async def _open_window(self) -> Window:
        plan = PLANS[self.s.stage]
        opened = anchor(self.s, plan)
        span = getattr(self.s.spec.policy.windows, plan.name)
        deadline = await self._deadline(opened, span)
        name = plan.name
        due = self.s.spec.due
        if due is not None and self.s.stage in (Stage.PLANNED, Stage.IN_PROGRESS):
            due_deadline = await self._deadline_on(due)
            if due_deadline.at < deadline.at:
                name, deadline = "due", due_deadline
        self.s.window = Window(
            name=name,
            awaiting=plan.awaiting,
            owner_unit=owner(self.s, plan),
            opened_at=opened,
            deadline=deadline.at,
            rule=deadline.rule,
        )
        self._emit(
            "deadline_set",
            unit=self.s.window.owner_unit,
            detail=f"{LABELS[name]}: {deadline.rule}",
            deadline=deadline.at,
        )
        return self.s.window

    async def _climb(self, window: Window, mark: int) -> None:
        """Climb the ladder one level at a time until the awaited message stops it."""
        ladder = self.s.spec.policy.escalation
        self.s.misses += 1
        self._emit("missed", unit=window.owner_unit, detail=f"{LABELS[window.name]} missed")
        level = 0
        while self.s.advances == mark:
            reminding = level == len(ladder)
            level = min(level + 1, len(ladder))
            rung = ladder[level - 1]
            answer_by = await self._deadline(workflow.now(), rung.answer_within)
            self.s.escalation_level, self.s.level_deadline = level, answer_by.at
            event = self._emit(
                "reminded" if reminding else "escalated",
                unit=window.owner_unit,
                level=level,
                detail=f"{ROLE_LABELS[rung.level]}: answer by {local(answer_by.at)}",
                deadline=answer_by.at,
            )
            self._notify_ladder(event, window, rung, ladder[: level - 1], reminding)
            await self._await_answer(rung, level, mark, answer_by)
        self.s.escalation_level, self.s.level_deadline, self.s.held_at_level = 0, None, 0

    async def _await_answer(self, rung: Rung, level: int, mark: int, answer_by: Deadline) -> None:
        """Wait out one level's answer window; an acknowledgement holds it for one more."""
        acks = self.s.acks
        while self.s.advances == mark:
            try:
                await workflow.wait_condition(
                    lambda acks=acks: self.s.advances != mark or self.s.acks != acks,  # type: ignore[misc]
                    timeout=self._until(answer_by.at),
                    timeout_summary=f"{ROLE_LABELS[rung.level]}答复截止 {local(answer_by.at)}",
                )
            except TimeoutError:
                return
            if self.s.advances != mark:
                return
            acks = self.s.acks
            answer_by = await self._deadline(workflow.now(), rung.answer_within)
            self.s.level_deadline = answer_by.at
            self._emit(
                "held",
                level=level,
                detail=f"level {level} took the matter up; held until {local(answer_by.at)}",
                deadline=answer_by.at,
            )

    # ---- departments' messages: updates with validators, and the same as signals -------

    def _apply(self, name: str, msg: Message) -> Accepted:
        if name == "ack":
            self.s.acks += 1
            self.s.held_at_level = self.s.escalation_level
            event = self._emit(
                "acknowledged",
                unit=msg.unit,
                by=msg.by,
                level=self.s.escalation_level,
                detail=msg.text,
            )
            return Accepted(seq=event.seq, stage=self.s.stage)
        action = action_of(name, msg)
        self.s.stage = MOVES_TO[action]
        self.s.advances += 1
        if name == "report":
            self.s.last_report = msg.text
        if name == "reject":
            self.s.rework_reason = msg.text
        event = self._emit(EVENT_KIND[action], unit=msg.unit, by=msg.by, detail=msg.text)
        return Accepted(seq=event.seq, stage=self.s.stage)

    def _on_signal(self, name: str, msg: Message) -> None:
        reason = refusal(name, msg, self.s)
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

    @workflow.signal
    def message(self, envelope: Envelope) -> None:
        """Fire-and-forget: the same messages as the updates; a refusal is recorded."""
        self._on_signal(envelope.action, envelope.message)

    @workflow.query
    def status(self) -> TaskState:
        return self.s

    # ---- effects: the ledger, notifications, the calendar ------------------------------

    def _emit(
        self,
        kind: str,
        *,
        unit: str | None = None,
        by: str | None = None,
        detail: str = "",
        level: int = 0,
        deadline: datetime | None = None,
    ) -> Event:
        self.s.seq += 1
        event = Event(
            seq=self.s.seq,
            at=workflow.now(),
            kind=kind,
            stage=self.s.stage,
            unit=unit,
            by=by,
            detail=detail,
            level=level,
            deadline=deadline,
        )
        self.s.events.append(event)
        self.s.unrecorded.append(event)
        self._publish()
        return event

    async def _record_forever(self) -> None:
        """Write events to the ledger in order, in batches, off the path of the messages."""
        while True:
            await workflow.wait_condition(lambda: bool(self.s.unrecorded))
            batch = list(self.s.unrecorded)
            snapshot = TaskSnapshot(
                spec=self.s.spec,
                stage=self.s.stage,
                escalation_level=self.s.escalation_level,
                next_deadline=self.s.next_deadline,
                updated_at=batch[-1].at,
            )
            await workflow.execute_activity(
                activity_names.RECORD_EVENTS,
                LedgerBatch(task=snapshot, events=batch),
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=LEDGER_RETRY,
                summary=f"记录 {len(batch)} 条台账",
            )
            del self.s.unrecorded[: len(batch)]

    def _notify_ladder(
        self, event: Event, window: Window, rung: Rung, below: list[Rung], reminding: bool
    ) -> None:
        late = local(window.deadline)
        what = f"{LABELS[window.name]}（应于 {late} 前{window.awaiting}）已逾期"
        ask = f"请于 {local(event.deadline or window.deadline)} 前督促 {window.owner_unit} 反馈。"
        head = f"【督办】{self.s.spec.title}（{self.s.spec.id}）：{window.owner_unit}{what}，"
        kind: NoticeKind = "reminder" if reminding else "escalation"
        text = f"{head}已升级至{ROLE_LABELS[rung.level]}（第 {event.level} 级）。{ask}"
        if reminding:
            text = f"{head}仍未反馈，再次提醒{ROLE_LABELS[rung.level]}。{ask}"
        self._send(event, rung.level, window.owner_unit, kind, text)
        if not reminding:  # everyone on the way up is told
            for lower in below:
                self._send(event, lower.level, window.owner_unit, "copy", text)

    def _send(self, event: Event, role: Role, unit: str, kind: NoticeKind, text: str) -> None:
        notice = Notice(
            task_id=self.s.spec.id,
            seq=event.seq,
            title=self.s.spec.title,
            level=event.level,
            role=role,
            unit=unit,
            kind=kind,
            text=text,
            deadline=event.deadline,
        )
        delivery = asyncio.create_task(self._deliver(notice))
        self._deliveries.add(delivery)
        delivery.add_done_callback(self._deliveries.discard)

    async def _deliver(self, notice: Notice) -> None:
        try:
            outcome = await workflow.execute_activity(
                activity_names.SEND_NOTICE,
                notice,
                result_type=NoticeOutcome,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=NOTICE_RETRY,
                summary=f"通知{ROLE_LABELS[notice.role]}",
            )
        except ActivityError as err:
            cause = str(err.cause) if err.cause else str(err)
            outcome = NoticeOutcome(
                seq=notice.seq,
                role=notice.role,
                unit=notice.unit,
                channel=notice.channel,
                status="failed",
                attempts=NOTICE_RETRY.maximum_attempts,
                detail=cause,
            )
        self.s.notifications.append(outcome)

    async def _deadline(self, opened: datetime, span: str) -> Deadline:
        days = durations.working_days(span)
        if days is None:
            at = opened + durations.plain(span)
            return Deadline(at=at, rule=f"{span} after {local(opened)}")
        result: Deadline = await workflow.execute_activity(
            activity_names.WORKING_DEADLINE,
            DeadlineRequest(opened_at=opened, working_days=days),
            result_type=Deadline,
            start_to_close_timeout=timedelta(seconds=10),
            summary=f"计算 {days} 个工作日期限",
        )
        return result

    async def _deadline_on(self, due: date) -> Deadline:
        result: Deadline = await workflow.execute_activity(
            activity_names.WORKING_DEADLINE,
            DeadlineRequest(opened_at=workflow.now(), working_days=0, on_date=due),
            result_type=Deadline,
            start_to_close_timeout=timedelta(seconds=10),
            summary="计算完成时限",
        )
        return result

    def _until(self, deadline: datetime) -> timedelta:
        return max(deadline - workflow.now(), timedelta(0))

    def _publish(self) -> None:
        """Search attributes and current details for ops in the Web UI, upserted on change."""
        s = self.s
        values: dict[str, object] = {
            "stage": s.stage.value,
            "level": s.escalation_level,
            "deadline": s.next_deadline,
        }
        if values == self._published:
            return
        pairs: list[SearchAttributeUpdate[Any]] = [
            STAGE.value_set(s.stage.value),
            LEAD_UNIT.value_set(s.spec.lead_unit),
            LEVEL.value_set(s.escalation_level),
        ]
        pairs.append(
            NEXT_DEADLINE.value_set(s.next_deadline)
            if s.next_deadline
            else NEXT_DEADLINE.value_unset()
        )
        workflow.upsert_search_attributes(pairs)
        self._published = values
        deadline = local(s.next_deadline) if s.next_deadline else "—"
        window = LABELS[s.window.name] if s.window else "—"
        workflow.set_current_details(
            f"**阶段** {s.stage.value}  \n**当前时限** {window} {deadline}  \n"
            f"**升级层级** {s.escalation_level}  \n**逾期次数** {s.misses}"
        )
