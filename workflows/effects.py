"""The workflow's effects, each through an activity: the ledger, notices, the calendar, and
what ops see in the Web UI (search attributes, current details)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine, Iterator
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey, SearchAttributeUpdate
from temporalio.exceptions import ActivityError

from workflows import activity_names, durations, releases
from workflows.contracts import (
    Deadline,
    DeadlineRequest,
    Event,
    LedgerBatch,
    MarginRequest,
    Notice,
    NoticeBatch,
    NoticeKind,
    NoticeOutcome,
    TaskSnapshot,
    TaskState,
)
from workflows.policy import ROLE_LABELS, Recipient
from workflows.windows import ANCHORS, LABELS, local

T = TypeVar("T")

STAGE = SearchAttributeKey.for_keyword("TaskStage")
LEAD_UNIT = SearchAttributeKey.for_keyword("LeadUnit")
LEVEL = SearchAttributeKey.for_int("EscalationLevel")
NEXT_DEADLINE = SearchAttributeKey.for_datetime("NextDeadline")
LIGHT = SearchAttributeKey.for_keyword("Light")
URGENCY = SearchAttributeKey.for_keyword("Urgency")
FALLBACK = SearchAttributeKey.for_bool("CalendarFallback")
# Set once, when the task starts: who assigned it and who works on it with the lead unit.
ASSIGNING_UNIT = SearchAttributeKey.for_keyword("AssigningUnit")
CO_UNITS = SearchAttributeKey.for_keyword_list("CoUnits")
# Every search attribute duban sets: registered by `duban up` and `duban ops setup`.
SEARCH_ATTRIBUTES: tuple[SearchAttributeKey[Any], ...] = (
    STAGE,
    LEAD_UNIT,
    LEVEL,
    NEXT_DEADLINE,
    LIGHT,
    URGENCY,
    FALLBACK,
    ASSIGNING_UNIT,
    CO_UNITS,
)

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


class Effects:
    """Mixed into TaskWorkflow: every effect it has on the world goes through here."""

    s: TaskState
    _published: dict[str, object]
    _deliveries: set[asyncio.Task[None]]
    _outgoing: dict[int, list[Notice]]  # by event: the notices its delivery will send
    _held_notices: int  # notices waiting for working hours, for the status query
    _working_out: int  # steps whose consequences are being computed: see _settling

    def _has(self, patch: str) -> bool:
        """Whether a patch's path applies to this task (see workflows.releases)."""
        return releases.has(self.s.rules, patch)

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
        if kind in ANCHORS:
            self.s.anchors[kind] = event.at
        self._publish()
        return event

    @contextlib.contextmanager
    def _working(self) -> Iterator[None]:
        """Around the computing of a step's consequences (see _settling)."""
        self._working_out += 1
        try:
            yield
        finally:
            self._working_out -= 1

    def _settling(self) -> bool:
        """True while the workflow works out what follows the step it just took."""
        return False

    async def _record_forever(self) -> None:
        """Write events to the ledger in order, in batches, off the path of the messages.

        A step and what follows from it (a receipt and the next window's deadline) go in
        one write: the batch waits while the workflow is settling, which with the calendar
        asked locally takes no time. Before this release each was written on its own."""
        together = self._has("one-ledger-write-per-step")
        while True:
            await workflow.wait_condition(
                lambda: bool(self.s.unrecorded) and not (together and self._settling())
            )
            batch = list(self.s.unrecorded)
            now = batch[-1].at
            snapshot = TaskSnapshot(
                spec=self.s.spec,
                stage=self.s.stage,
                escalation_level=self.s.escalation_level,
                next_deadline=self.s.next_deadline,
                updated_at=now,
                light=self.s.light(now),
                urgency=self.s.current_urgency,
                due=self.s.current_due,
                fallback=self.s.fallback,
            )
            await workflow.execute_activity(
                activity_names.RECORD_EVENTS,
                LedgerBatch(task=snapshot, events=batch),
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=LEDGER_RETRY,
                summary=f"记录 {len(batch)} 条台账",
            )
            del self.s.unrecorded[: len(batch)]

    def _send(self, event: Event, role: Recipient, unit: str, kind: NoticeKind, text: str) -> None:
        urgent = self.s.current_urgency == "urgent"
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
            quiet=self.s.spec.policy.quiet_hours and not urgent,
            urgency=self.s.current_urgency,
            facts=self._facts(event, role),
        )
        if not self._has("batched-notices"):
            self._start_delivery(self._deliver(notice))
            return
        # Everyone an event tells goes in one activity: the notices join the event's batch
        # until the delivery starts, after the code that sends them has run to its next
        # await. A storm of escalations cost the server an activity per recipient before.
        batch = self._outgoing.get(event.seq)
        if batch is None:
            batch = self._outgoing[event.seq] = []
            self._start_delivery(self._deliver_together(event.seq))
        batch.append(notice)

    def _start_delivery(self, sending: Coroutine[Any, Any, None]) -> None:
        delivery = asyncio.create_task(sending)
        self._deliveries.add(delivery)
        delivery.add_done_callback(self._deliveries.discard)

    def _facts(self, event: Event, role: Recipient) -> dict[str, str]:
        """What a template may name about this notice."""
        w = self.s.window
        facts = {
            "role": ROLE_LABELS[role],
            "answer_by": local(event.deadline) if event.deadline else "",
        }
        if w is not None:
            facts.update(
                window=LABELS[w.name],
                expected=w.awaiting,
                window_deadline_iso=w.deadline.isoformat(),
            )
        return facts

    async def _deliver(self, notice: Notice) -> None:
        if notice.quiet and self._has("quiet-hours"):
            await self._wait_for_working_hours()
        retry = NOTICE_RETRY
        try:
            outcome = await workflow.execute_activity(
                activity_names.SEND_NOTICE,
                notice,
                result_type=NoticeOutcome,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=retry,
                summary=f"通知{ROLE_LABELS[notice.role]}",
            )
        except ActivityError as err:
            cause = str(err.cause) if err.cause else str(err)
            outcome = _failed(notice, retry.maximum_attempts, cause)
            if notice.role != "office" and self._has("tell-office-of-failures"):
                self._tell_office(notice, cause)
        self.s.notifications.append(outcome)

    async def _deliver_together(self, seq: int) -> None:
        notices = self._outgoing.pop(seq)
        if any(n.quiet for n in notices):
            await self._wait_for_working_hours()
        retry = NOTICE_RETRY
        try:
            outcomes = await workflow.execute_activity(
                activity_names.SEND_NOTICES,
                NoticeBatch(notices=notices, attempts=retry.maximum_attempts or 1),
                result_type=list[NoticeOutcome],
                start_to_close_timeout=timedelta(seconds=30 + 15 * len(notices)),
                retry_policy=retry,
                summary="通知" + "、".join(ROLE_LABELS[n.role] for n in notices),
            )
        except ActivityError as err:  # timed out on its last attempt: none is known sent
            cause = str(err.cause) if err.cause else str(err)
            outcomes = [_failed(n, retry.maximum_attempts, cause) for n in notices]
        for notice, outcome in zip(notices, outcomes, strict=True):
            if outcome.status == "failed" and notice.role != "office":
                self._tell_office(notice, outcome.detail)
        self.s.notifications.extend(outcomes)

    def _tell_office(self, notice: Notice, cause: str) -> None:
        """A notice that could not be delivered is the office's to chase, by other means."""
        event = self._emit(
            "notice_failed",
            unit=notice.unit,
            level=notice.level,
            detail=f"{ROLE_LABELS[notice.role]} not reached: {cause}",
        )
        text = (
            f"【督办】{self.s.spec.title}（{self.s.spec.id}）：致{notice.unit}"
            f"{ROLE_LABELS[notice.role]}的通知未能送达（{cause}），请另行联系。"
        )
        self._send(event, "office", self.s.spec.assigning_unit, "info", text)

    async def _ask_calendar(self, name: str, request: Any, result_type: type[T], summary: str) -> T:
        """One question to the calendar activity: it alone knows the working days.

        A question is a read of a few rows, answered in milliseconds and safe to ask again:
        a local activity, run by the worker inside the workflow task and recorded as one
        marker. Asked as a regular activity it cost three events and a workflow task of its
        own, and a deadline storm spent most of the server's time on them (bench/README)."""
        ask = (
            workflow.execute_local_activity
            if self._has("calendar-local-activities")
            else workflow.execute_activity
        )
        result: T = await ask(
            name,
            request,
            result_type=result_type,
            start_to_close_timeout=timedelta(seconds=10),
            summary=summary,
        )
        return result

    async def _wait_for_working_hours(self) -> None:
        """Outside working hours a non-urgent notice waits, durably, for the next morning."""
        opens = await self._ask_calendar(
            activity_names.WORKING_HOURS_FROM, workflow.now(), datetime, "查询工作时间"
        )
        if opens > workflow.now():
            self._held_notices += 1
            try:
                await workflow.sleep(opens - workflow.now(), summary=f"等待工作时间 {local(opens)}")
            finally:
                self._held_notices -= 1

    async def _deadline(self, opened: datetime, span: str) -> Deadline:
        days = durations.working_days(span)
        if days is None:
            at = opened + durations.plain(span)
            return Deadline(at=at, rule=f"{span} after {local(opened)}")
        request = DeadlineRequest(opened_at=opened, working_days=days)
        return await self._ask_calendar(
            activity_names.WORKING_DEADLINE, request, Deadline, f"计算 {days} 个工作日期限"
        )

    async def _deadline_on(self, due: date) -> Deadline:
        request = DeadlineRequest(opened_at=workflow.now(), working_days=0, on_date=due)
        return await self._ask_calendar(
            activity_names.WORKING_DEADLINE, request, Deadline, "计算完成时限"
        )

    async def _margin_start(self, deadline: datetime, margin: str) -> datetime:
        """When the warning margin before `deadline` begins."""
        if durations.working_days(margin) is None:
            return deadline - durations.plain(margin)
        return await self._ask_calendar(
            activity_names.MARGIN_START,
            MarginRequest(deadline=deadline, margin=margin),
            datetime,
            f"计算预警时间（提前 {margin}）",
        )

    def _count(self, name: str, what: str, **labels: str) -> None:
        """A counter on the metrics endpoint; silent while the workflow replays."""
        workflow.metric_meter().create_counter(name, what).add(1, labels)

    def _until(self, deadline: datetime) -> timedelta:
        return max(deadline - workflow.now(), timedelta(0))

    def _publish(self) -> None:
        """Search attributes and current details for ops in the Web UI, upserted on change."""
        s = self.s
        light = s.light(workflow.now())
        values: dict[str, object] = {
            "stage": s.stage.value,
            "level": s.escalation_level,
            "deadline": s.next_deadline,
            "light": light,
            "urgency": s.current_urgency,
            "fallback": s.fallback,
        }
        workflow.set_current_details(self._details(light))  # no command: always current
        if values == self._published:
            return
        pairs: list[SearchAttributeUpdate[Any]] = [
            STAGE.value_set(s.stage.value),
            LEAD_UNIT.value_set(s.spec.lead_unit),
            LEVEL.value_set(s.escalation_level),
            LIGHT.value_set(light),
            URGENCY.value_set(s.current_urgency),
            FALLBACK.value_set(s.fallback),
        ]
        pairs.append(
            NEXT_DEADLINE.value_set(s.next_deadline)
            if s.next_deadline
            else NEXT_DEADLINE.value_unset()
        )
        workflow.upsert_search_attributes(pairs)
        self._published = values

    def _details(self, light: str) -> str:
        """The task's story so far, as the Web UI's current details show it."""
        s = self.s
        deadline = local(s.next_deadline) if s.next_deadline else "—"
        window = LABELS[s.window.name] if s.window else "—"
        rule = f"（{s.window.rule}）" if s.window else ""
        told = next((e for e in reversed(s.events) if e.kind in ("escalated", "reminded")), None)
        lines = [
            f"**阶段** {s.stage.value}　**灯** {light}　**紧急程度** {s.current_urgency}",
            f"**当前时限** {window} {deadline}{rule}",
            f"**升级层级** {s.escalation_level}　**逾期次数** {s.misses}",
        ]
        if told is not None and s.escalation_level:
            lines.append(f"**已通知** {told.detail.split(':')[0]}（第 {told.level} 级）")
        if s.last_report:
            lines.append(f"**最近报告** {s.last_report[:80]}")
        if s.suspended_at is not None:
            lines.append(f"**已暂停** 自 {local(s.suspended_at)}")
        if s.fallback:
            lines.append("**日历** 无官方日历，按周一至周五推算")
        return "  \n".join(lines)


def _failed(notice: Notice, attempts: int, cause: str) -> NoticeOutcome:
    return NoticeOutcome(
        seq=notice.seq,
        role=notice.role,
        unit=notice.unit,
        channel=notice.channel,
        status="failed",
        attempts=attempts,
        detail=cause,
    )
