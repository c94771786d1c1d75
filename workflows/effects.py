"""The workflow's effects on the world, each through an activity: the ledger, notices, the
calendar, and what ops see in the Web UI (search attributes, current details). TaskWorkflow
holds one Effects and hands it the core's intents to carry out."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from datetime import date, datetime, timedelta
from typing import Any, Protocol, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeUpdate
from temporalio.exceptions import ActivityError, CancelledError

from workflows import activity_names, durations
from workflows.contracts import (
    ASSIGNING_UNIT,
    CO_UNITS,
    FALLBACK,
    LEAD_UNIT,
    LEVEL,
    LIGHT,
    NEXT_DEADLINE,
    STAGE,
    URGENCY,
    CalendarYear,
    Deadline,
    DeadlineRequest,
    Event,
    LedgerBatch,
    MarginRequest,
    Notice,
    NoticeBatch,
    NoticeOutcome,
    TaskState,
)
from workflows.core import delivery, views, workdays
from workflows.core.decision import Count, Decision, Intent, Notify, Record, Rules, Warn
from workflows.names import TERMINAL_STAGES
from workflows.policy import ROLE_LABELS
from workflows.windows import OFFICE_TZ, local

T = TypeVar("T")

# The ledger must never lose a step: keep retrying while PostgreSQL is away.
LEDGER_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1)
)
LEDGER_BATCH = 50
# From release 3 a notice is tried for as long as it matters, the wait between tries
# capped at a few minutes, so a channel down for an hour loses nothing (issue 14); its
# activity heartbeats, so a worker that died is noticed in seconds, not at the timeout.
PATIENT_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=3),
    non_retryable_error_types=["NotificationRejected"],
)
BACKOFF_CAP = timedelta(minutes=3)  # PATIENT_RETRY's maximum interval
# Even a notice whose answer window closes sooner is tried this long: a channel away for
# half an hour loses nothing (at 10 minutes, the fault suite's 10-minute outage gave up 223).
PATIENCE_FLOOR = timedelta(minutes=30)
HEARTBEAT = timedelta(seconds=20)
# A notification is retried with backoff, then recorded as failed so the climb goes on.
NOTICE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=8,
    non_retryable_error_types=["NotificationRejected"],
)


class Host(Protocol):
    """The workflow an Effects works for: its state, its rules, and how it takes a step."""

    s: TaskState

    @property
    def rules(self) -> Rules: ...

    def apply(self, decision: Decision) -> None: ...

    def settling(self) -> bool: ...


class Effects:
    """Carries out the core's intents: records reach the ledger, notices their people."""

    def __init__(self, host: Host) -> None:
        self.host = host
        self.published: dict[str, object] = {}
        self.deliveries: set[asyncio.Task[None]] = set()
        self.outgoing: dict[int, list[Notice]] = {}  # by event: the notices it will send
        # From release 4: notices that go with the next ledger write, in one activity.
        self.riding: list[Notice] = []
        self.held_notices = 0  # notices waiting for working hours, for the status query
        # From release 5: the working days of the years this run has counted in, each
        # fetched once (a local activity); forgotten when the calendar changes.
        self.years: dict[int, CalendarYear] = {}
        self._held: workdays.HeldYears | None = None

    @property
    def s(self) -> TaskState:
        return self.host.s

    def carry_out(self, intent: Intent) -> None:
        match intent:
            case Record(view=view):
                self.publish(view)
            case Notify(notice=notice):
                self.send(notice)
            case Count(metric=metric, what=what, labels=labels):
                # A counter on the metrics endpoint; silent while the workflow replays.
                workflow.metric_meter().create_counter(metric, what).add(1, dict(labels))
            case Warn(message=message):
                workflow.logger.warning(message)

    # ---- the ledger ---------------------------------------------------------------------

    async def record_forever(self) -> None:
        """Write events to the ledger in order, in batches, off the path of the messages.

        A step and what follows from it (a receipt and the next window's deadline) go in
        one write: the batch waits while the workflow is settling, which with the calendar
        asked locally takes no time. Before release 1 each was written on its own. From
        release 4 the notices of the events written go in the same activity, after them."""
        together = self.host.rules.has("one-ledger-write-per-step")
        # At most LEDGER_BATCH events a write: after a long PostgreSQL outage the backlog
        # goes in several writes, each far under Temporal's payload limit.
        bounded = self.host.rules.has("bounded-ledger-batches")
        while True:
            await workflow.wait_condition(
                lambda: (
                    bool(self.s.unrecorded or self.riding)
                    and not (together and self.host.settling())
                )
            )
            batch = self.s.unrecorded[:LEDGER_BATCH] if bounded else list(self.s.unrecorded)
            notices = self._riding_with(batch)
            written = LedgerBatch(task=views.snapshot(self.s), events=batch, notices=notices)
            if notices:
                outcomes = await workflow.execute_activity(
                    activity_names.RECORD_AND_NOTIFY,
                    written,
                    result_type=list[NoticeOutcome],
                    start_to_close_timeout=timedelta(seconds=30 + 15 * len(notices)),
                    heartbeat_timeout=HEARTBEAT,
                    retry_policy=LEDGER_RETRY,
                    summary=f"记录 {len(batch)} 条台账，通知" + "、".join(map(_recipient, notices)),
                )
            else:
                await workflow.execute_activity(
                    activity_names.RECORD_EVENTS,
                    written,
                    start_to_close_timeout=timedelta(seconds=30),
                    retry_policy=LEDGER_RETRY,
                    summary=f"记录 {len(batch)} 条台账",
                )
            s = self.s.model_copy(update={"unrecorded": self.s.unrecorded[len(batch) :]})
            self.host.apply(Decision(s))
            if notices:
                self._went_with_the_ledger(notices, outcomes)

    def _riding_with(self, batch: list[Event]) -> list[Notice]:
        """The notices that go with this write: those of its events and of events already
        written (none waits for a later write)."""
        last = batch[-1].seq if batch else None
        going = [n for n in self.riding if last is None or n.seq <= last]
        self.riding = [n for n in self.riding if last is not None and n.seq > last]
        return going

    def _went_with_the_ledger(self, notices: list[Notice], outcomes: list[NoticeOutcome]) -> None:
        """What went on the record; what could not go at once is tried patiently, apart,
        so the next write does not wait for a channel that is away."""
        done = [(n, o) for n, o in zip(notices, outcomes, strict=True) if o.status != "waiting"]
        if done:
            self._kept([n for n, _ in done], [o for _, o in done])
        later = [n for n, o in zip(notices, outcomes, strict=True) if o.status == "waiting"]
        if later:
            self._start_delivery(self._deliver_later(later))

    async def _deliver_later(self, notices: list[Notice]) -> None:
        self._kept(notices, await self._deliver_patiently(notices))

    # ---- notices ------------------------------------------------------------------------

    def send(self, notice: Notice) -> None:
        if not notice.quiet and self.host.rules.has("notices-with-the-ledger"):
            self.riding.append(notice)  # sent by record_forever, after the event's write
            return
        if not self.host.rules.has("batched-notices"):
            self._start_delivery(self._deliver(notice))
            return
        # Everyone an event tells goes in one activity: the notices join the event's batch
        # until the delivery starts, after the code that sends them has run to its next
        # await. A storm of escalations cost the server an activity per recipient before.
        batch = self.outgoing.get(notice.seq)
        if batch is None:
            batch = self.outgoing[notice.seq] = []
            self._start_delivery(self._deliver_together(notice.seq))
        batch.append(notice)

    def _start_delivery(self, sending: Coroutine[Any, Any, None]) -> None:
        delivery_task = asyncio.create_task(sending)
        self.deliveries.add(delivery_task)
        delivery_task.add_done_callback(self.deliveries.discard)

    async def _deliver(self, notice: Notice) -> None:
        """Before release 2: one activity per notice."""
        if notice.quiet and self.host.rules.has("quiet-hours"):
            await self._wait_for_working_hours()
        retry = NOTICE_RETRY
        try:
            outcome = await workflow.execute_activity(
                activity_names.SEND_NOTICE,
                notice,
                result_type=NoticeOutcome,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=retry,
                summary=f"通知{_recipient(notice)}",
            )
        except ActivityError as err:
            cause = str(err.cause) if err.cause else str(err)
            outcome = _failed(notice, retry.maximum_attempts, cause)
            if notice.role != "office" and self.host.rules.has("tell-office-of-failures"):
                self.host.apply(
                    delivery.undelivered(self.s, notice, cause, workflow.now(), self.host.rules)
                )
        self.host.apply(Decision(delivery.kept(self.s, [outcome])))

    async def _deliver_together(self, seq: int) -> None:
        notices = self.outgoing.pop(seq)
        if any(n.quiet for n in notices):
            await self._wait_for_working_hours()
        if self.host.rules.has("patient-notices"):
            outcomes = await self._deliver_patiently(notices)
            self._kept(notices, outcomes)
            return
        retry = NOTICE_RETRY
        try:
            outcomes = await workflow.execute_activity(
                activity_names.SEND_NOTICES,
                NoticeBatch(notices=notices, attempts=retry.maximum_attempts or 1),
                result_type=list[NoticeOutcome],
                start_to_close_timeout=timedelta(seconds=30 + 15 * len(notices)),
                retry_policy=retry,
                summary="通知" + "、".join(_recipient(n) for n in notices),
            )
        except ActivityError as err:  # timed out on its last attempt: none is known sent
            cause = str(err.cause) if err.cause else str(err)
            outcomes = [_failed(n, retry.maximum_attempts, cause) for n in notices]
        self._kept(notices, outcomes)

    def _kept(self, notices: list[Notice], outcomes: list[NoticeOutcome]) -> None:
        """The outcomes on the task's record; a notice that did not get through is the
        office's to chase."""
        for notice, outcome in zip(notices, outcomes, strict=True):
            if outcome.status == "failed" and notice.role != "office":
                failed = delivery.undelivered(
                    self.s, notice, outcome.detail, workflow.now(), self.host.rules, outcome.channel
                )
                self.host.apply(failed)
        self.host.apply(Decision(delivery.kept(self.s, outcomes)))

    async def _deliver_patiently(self, notices: list[Notice]) -> list[NoticeOutcome]:
        """Tried until the notices stop mattering: their answer window closes (or the
        policy's patience runs out), or the task ends, when what is still unsent is
        cancelled. The activity reports what it gave up on as failed, one by one."""
        now = workflow.now()
        windows = [n.deadline for n in notices if n.deadline is not None and n.deadline > now]
        span = self.s.spec.policy.notice_patience
        days = durations.working_days(span)  # counted as whole days: a bound, not a deadline
        patience = timedelta(days=days) if days is not None else durations.plain(span)
        give_up_at = max(min(windows, default=now + patience), now + PATIENCE_FLOOR)
        handle = workflow.start_activity(
            activity_names.SEND_NOTICES,
            NoticeBatch(notices=notices, attempts=0, give_up_at=give_up_at),
            result_type=list[NoticeOutcome],
            # The last attempt may begin a full backoff before give_up_at and then send.
            schedule_to_close_timeout=give_up_at - now + 2 * BACKOFF_CAP,
            start_to_close_timeout=timedelta(seconds=30 + 15 * len(notices)),
            heartbeat_timeout=HEARTBEAT,
            retry_policy=PATIENT_RETRY,
            summary="通知" + "、".join(_recipient(n) for n in notices),
        )
        over = self.s.stage in TERMINAL_STAGES
        await workflow.wait_condition(lambda: handle.done() or self.s.stage in TERMINAL_STAGES)
        if not handle.done() and not over:  # the task ended: what is unsent no longer matters
            handle.cancel()
        try:
            outcomes: list[NoticeOutcome] = await handle
            return outcomes
        except (ActivityError, asyncio.CancelledError) as err:
            cause = str(err.cause or err) if isinstance(err, ActivityError) else str(err)
            cancelled = not isinstance(err, ActivityError) or isinstance(err.cause, CancelledError)
            if cancelled:
                cause = "任务已结束，不再发送"
            status = "cancelled" if cancelled else "failed"
            return [_outcome(n, status, 0, cause) for n in notices]

    async def _wait_for_working_hours(self) -> None:
        """Outside working hours a non-urgent notice waits, durably, for the next morning."""
        now = workflow.now()
        if self.host.rules.has("calendar-held"):
            opens = await self.count(lambda h, c: workdays.working_hours_from(now, h, c))
        else:
            opens = await self.ask_calendar(
                activity_names.WORKING_HOURS_FROM, now, datetime, "查询工作时间"
            )
        if opens > workflow.now():
            self.held_notices += 1
            try:
                await workflow.sleep(opens - workflow.now(), summary=f"等待工作时间 {local(opens)}")
            finally:
                self.held_notices -= 1

    # ---- the calendar -------------------------------------------------------------------

    async def ask_calendar(self, name: str, request: Any, result_type: type[T], summary: str) -> T:
        """One question to the calendar activity: it alone knows the working days.

        A question is a read of a few rows, answered in milliseconds and safe to ask again:
        a local activity, run by the worker inside the workflow task and recorded as one
        marker. Asked as a regular activity it cost three events and a workflow task of its
        own, and a deadline storm spent most of the server's time on them (bench/README)."""
        ask = (
            workflow.execute_local_activity
            if self.host.rules.has("calendar-local-activities")
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

    async def count(self, counting: Callable[[workdays.Hours, workdays.Classify], T]) -> T:
        """Count working days over the years held (release 5 on): a year the count reaches
        that is not held yet is fetched first, once, by a local activity. Opening a window
        or climbing a rung then asks nothing of the worker: a deadline storm's escalations
        and a sign-off's next window each waited on a local activity before (issue 17)."""
        while True:
            try:
                if self._held is None:
                    self._held = workdays.HeldYears(self.years, local_year(workflow.now()))
                return counting(self._held.hours, self._held)
            except workdays.YearNotHeld as missing:
                self.years[missing.year] = await self.ask_calendar(
                    activity_names.WORKING_YEAR,
                    missing.year,
                    CalendarYear,
                    f"读取 {missing.year} 年工作日历",
                )
                self._held = None

    def forget_calendar(self) -> None:
        """The calendar changed: each year is fetched again when a count next reaches it."""
        self.years.clear()
        self._held = None

    async def deadline(self, opened: datetime, span: str) -> Deadline:
        days = durations.working_days(span)
        if days is None:
            at = opened + durations.plain(span)
            return Deadline(at=at, rule=f"自 {local(opened)} 起 {durations.say(span)}")
        request = DeadlineRequest(opened_at=opened, working_days=days)
        return await self._deadline(request, f"计算 {days} 个工作日期限")

    async def deadline_on(self, due: date) -> Deadline:
        request = DeadlineRequest(opened_at=workflow.now(), working_days=0, on_date=due)
        return await self._deadline(request, "计算完成时限")

    async def _deadline(self, request: DeadlineRequest, summary: str) -> Deadline:
        if self.host.rules.has("calendar-held"):
            return await self.count(lambda h, c: workdays.deadline(request, h, c))
        return await self.ask_calendar(activity_names.WORKING_DEADLINE, request, Deadline, summary)

    async def margin_start(self, deadline: datetime, margin: str) -> datetime:
        """When the warning margin before `deadline` begins."""
        if durations.working_days(margin) is None:
            return deadline - durations.plain(margin)
        request = MarginRequest(deadline=deadline, margin=margin)
        if self.host.rules.has("calendar-held"):
            return await self.count(lambda h, c: workdays.margin_start(request, h, c))
        return await self.ask_calendar(
            activity_names.MARGIN_START,
            request,
            datetime,
            f"计算预警时间（提前 {durations.say(margin)}）",
        )

    # ---- what ops see -------------------------------------------------------------------

    def publish(self, view: views.View) -> None:
        """Search attributes and current details for ops in the Web UI, upserted on change."""
        workflow.set_current_details(view.details)  # no command: always current
        if view.values == self.published:
            return
        s = self.s
        v = view.values
        deadline = v["deadline"]
        pairs: list[SearchAttributeUpdate[Any]] = [
            STAGE.value_set(str(v["stage"])),
            LEAD_UNIT.value_set(s.spec.lead_unit),
            LEVEL.value_set(int(str(v["level"]))),
            LIGHT.value_set(str(v["light"])),
            URGENCY.value_set(str(v["urgency"])),
            FALLBACK.value_set(bool(v["fallback"])),
            NEXT_DEADLINE.value_set(deadline)
            if isinstance(deadline, datetime)
            else NEXT_DEADLINE.value_unset(),
        ]
        if self.host.rules.has("unit-attributes"):  # so ops find a task by any of its units
            pairs.append(ASSIGNING_UNIT.value_set(s.spec.assigning_unit))
            pairs.append(CO_UNITS.value_set(list(s.spec.co_units)))
        workflow.upsert_search_attributes(pairs)
        self.published = view.values


def local_year(at: datetime) -> int:
    """The office's year at `at`: the first year a count fetches."""
    return at.astimezone(OFFICE_TZ).year


def until(deadline: datetime) -> timedelta:
    return max(deadline - workflow.now(), timedelta(0))


def _recipient(notice: Notice) -> str:
    """Who a notice is for, as an activity's summary names them: the unit, and the role
    where the unit alone does not say it."""
    if notice.role in ("lead_unit", "co_unit"):
        return notice.unit
    if notice.role == "office":
        return f"{notice.unit}（{ROLE_LABELS['office']}）"
    return ROLE_LABELS[notice.role]


def _failed(notice: Notice, attempts: int, cause: str) -> NoticeOutcome:
    return _outcome(notice, "failed", attempts, cause)


def _outcome(notice: Notice, status: str, attempts: int, cause: str) -> NoticeOutcome:
    return NoticeOutcome.model_validate(
        {
            "seq": notice.seq,
            "role": notice.role,
            "unit": notice.unit,
            "channel": notice.channel,
            "status": status,
            "attempts": attempts,
            "detail": cause,
        }
    )
