"""What the core's unit tests share: units, fixed times, policies, a recording Rules, and a
small synchronous shell that drives the core as TaskWorkflow does, asking the real
working-day calendar (activities.calendar, no database) where the workflow would.

The shell here is the test's, not the workflow's: it calls the core's rules in the order
workflows/task.py calls them, so the states the tests read are states the core made."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone
from typing import Any

from activities.calendar import WorkingCalendar
from workflows import durations
from workflows.contracts import (
    Deadline,
    DeadlineRequest,
    MarginRequest,
    Message,
    TaskSpec,
    TaskState,
)
from workflows.core import climb, deadlines, matters, messages
from workflows.core.decision import Decision, Intent, Notify, Record
from workflows.core.refusals import refusal
from workflows.names import TERMINAL_STAGES, Action, EventKind
from workflows.policy import BUILTIN, Policy
from workflows.windows import local

CST = timezone(timedelta(hours=8))
CAL = WorkingCalendar()

TASK_ID = "T-core-7"
OFFICE = "区政府办公室"
LEAD = "区司法局"
CO1 = "区财政局"
CO2 = "区人社局"
OUTSIDER = "区教育局"  # a unit that has nothing to do with the task
APPROVER = "区委督查室"  # a named extension approver

DEFAULT = BUILTIN["default"]


def at(m: int, d: int, hour: int = 10, minute: int = 0, y: int = 2026) -> datetime:
    """An instant at the office's local time (Asia/Shanghai)."""
    return datetime(y, m, d, hour, minute, tzinfo=CST)


# Monday 23 November 2026, 10:00 in Beijing: a plain working week on China's calendar.
MONDAY = at(11, 23)


def make_spec(policy: Policy = DEFAULT, **fields: Any) -> TaskSpec:
    values: dict[str, Any] = {
        "id": TASK_ID,
        "title": "完善行政执法协调机制",
        "source": "区政府常务会议纪要〔2026〕12号",
        "assigning_unit": OFFICE,
        "lead_unit": LEAD,
        "co_units": [CO1, CO2],
        "standard": "形成协调办法并印发",
        "urgency": "normal",
        "policy": policy,
    }
    values.update(fields)
    return TaskSpec.model_validate(values)


def msg(unit: str = LEAD, by: str = "张三", **fields: Any) -> Message:
    return Message(unit=unit, by=by, **fields)


class Recording:
    """A Rules that answers each patch (all on unless named off) and keeps what it saw."""

    def __init__(self, off: tuple[str, ...] = ()) -> None:
        self.off = set(off)
        self.asked: list[str] = []
        self.intents: list[Intent] = []

    def has(self, patch: str) -> bool:
        self.asked.append(patch)
        return patch not in self.off

    def decided(self, intent: Intent) -> None:
        self.intents.append(intent)


def deadline(opened: datetime, span: str) -> Deadline:
    """What workflows.effects.Effects.deadline answers, with the real calendar."""
    days = durations.working_days(span)
    if days is None:
        return Deadline(at=opened + durations.plain(span), rule=f"自 {local(opened)} 起 {span}")
    return CAL.deadline(DeadlineRequest(opened_at=opened, working_days=days))


def deadline_on(due: date, now: datetime) -> Deadline:
    return CAL.deadline(DeadlineRequest(opened_at=now, working_days=0, on_date=due))


def margin_start(at_: datetime, margin: str) -> datetime:
    if durations.working_days(margin) is None:
        return at_ - durations.plain(margin)
    return CAL.margin_start(MarginRequest(deadline=at_, margin=margin))


def records(decision: Decision) -> list[Record]:
    return [i for i in decision.intents if isinstance(i, Record)]


def notices(decision: Decision) -> list[Notify]:
    return [i for i in decision.intents if isinstance(i, Notify)]


def kinds(decision: Decision) -> list[EventKind]:
    return [r.event.kind for r in records(decision)]


def dump(state: TaskState) -> dict[str, Any]:
    """The whole state as plain data: compared before and after, it shows a rule pure."""
    return state.model_dump(mode="json")


def new_id() -> str:
    return f"T-core-{uuid.uuid4().hex[:8]}"


class Shell:
    """Drives the core synchronously, step by step, as TaskWorkflow does."""

    def __init__(
        self,
        spec: TaskSpec | None = None,
        now: datetime = MONDAY,
        rules: Recording | None = None,
    ) -> None:
        self.now = now
        self.rules = rules or Recording()
        self.decisions: list[Decision] = []
        self.s = TaskState(spec=spec or make_spec())
        self.apply(messages.assigned(self.s, "督查员", now, self.rules))
        self.open_window()

    def apply(self, decision: Decision) -> Decision:
        self.s = decision.state
        self.decisions.append(decision)
        return decision

    def state(self, new: TaskState) -> None:
        self.s = new

    def to(self, when: datetime) -> Shell:
        assert when >= self.now
        self.now = when
        return self

    def later(self, **delta: float) -> Shell:
        return self.to(self.now + timedelta(**delta))

    def window_deadline(self, name: str, opened: datetime, span: str | None) -> Deadline:
        """As TaskWorkflow._window_deadline."""
        due = self.s.current_due
        if span is not None:
            found = deadline(opened, span)
        else:
            assert due is not None
            found = deadline_on(due, self.now)
        if due is not None and span is not None and name in ("progress", "stage_every"):
            found = deadlines.earliest(found, deadline_on(due, self.now))
        if self.s.extended_until is not None:
            found = deadlines.extended(found, deadline_on(self.s.extended_until, self.now))
        return found

    def open_window(self) -> None:
        """As TaskWorkflow._open_next_window."""
        ask = deadlines.next_window(self.s)
        found = self.window_deadline(ask.plan.name, ask.opened, ask.span)
        self.state(deadlines.set_window(self.s, ask, found))
        w = self.s.window
        assert w is not None
        self.state(
            deadlines.plan_warning(
                self.s, margin_start(w.deadline, self.s.spec.policy.warning_margin)
            )
        )
        if ask.stage == "received":
            windows = self.s.spec.policy.windows_for(self.s.current_urgency)
            self.state(
                deadlines.set_difficulty_window(self.s, deadline(ask.opened, windows.difficulty))
            )
        self.apply(deadlines.window_set(self.s, found, self.now, self.rules))

    def send(self, action: Action, message: Message) -> Decision:
        """An update: refused or accepted; when the stage moved on, the next window opens
        and, a climb being over, the ladder settles."""
        reason = refusal(action, message, self.s, self.now)
        assert reason is None, reason
        mark = self.s.advances
        decision = self.apply(messages.accept(self.s, action, message, self.now, self.rules))
        if self.s.advances != mark:
            self.state(climb.settle(self.s, mark))
            if self.s.stage not in TERMINAL_STAGES:
                self.open_window()
        return decision

    def refused(self, action: Action, message: Message) -> str:
        reason = refusal(action, message, self.s, self.now)
        assert reason is not None
        return reason

    def warn(self) -> Decision:
        w = self.s.window
        assert w is not None and w.warn_at is not None
        self.to(max(self.now, w.warn_at))
        return self.apply(deadlines.warn(self.s, self.now, self.rules))

    def miss(self) -> Decision:
        w = self.s.window
        assert w is not None
        self.to(max(self.now, w.deadline))
        return self.apply(deadlines.miss(self.s, self.now, self.rules))

    def step_up(self) -> Decision:
        """As TaskWorkflow._step_up, at the end of the previous level's answer window."""
        if self.s.level_deadline is not None:
            self.to(max(self.now, self.s.level_deadline))
        span = climb.answer_window(self.s, self.rules.has("reminders-back-off"))
        answer_by = deadline(self.now, span)
        return self.apply(climb.step_up(self.s, answer_by, self.now, self.rules))

    def stall(self) -> Decision:
        """As TaskWorkflow._climb when the top was reminded as often as the policy allows."""
        assert climb.reminders_spent(self.s) and self.s.level_deadline is not None
        self.to(max(self.now, self.s.level_deadline))
        return self.apply(climb.stalled(self.s, self.now, self.rules))

    def hold(self) -> Decision:
        """As TaskWorkflow._await_answer after an acknowledgement."""
        rung = climb.current_rung(self.s)
        answer_by = deadline(self.now, rung.answer_within)
        return self.apply(climb.held(self.s, answer_by, self.now, self.rules))

    def open_level(self, key: str) -> Decision:
        """As TaskWorkflow._watch_matter when a level of a matter's ladder is asked."""
        m = matters.find(self.s, key)
        answer_by = deadline(self.now, m.ladder[m.level][1])
        return self.apply(matters.level_opened(self.s, key, answer_by, self.now, self.rules))

    def matter_missed(self, key: str) -> Decision:
        m = matters.find(self.s, key)
        assert m.deadline is not None
        self.to(max(self.now, m.deadline))
        return self.apply(matters.missed(self.s, key, self.now, self.rules))

    def through(self, stage: str) -> Shell:
        """Take the task on, one message an hour, from its stage to `stage` (up to closed)."""
        steps: dict[str, tuple[Action, Message]] = {
            "assigned": (Action.RECEIVE, msg(text="已签收")),
            "received": (Action.DEPLOY, msg(text="已部署")),
            "deployed": (Action.REPORT, msg(kind="plan", text="实施计划")),
            "planned": (Action.REPORT, msg(kind="progress", text="完成调研")),
            "in_progress": (Action.REPORT, msg(kind="completion", text="协调办法已印发")),
            "completed": (Action.VERIFY, msg(unit=OFFICE, text="核实无误")),
        }
        order = [*steps, "closed"]
        assert order.index(self.s.stage) <= order.index(stage)
        while self.s.stage != stage:
            action, message = steps[self.s.stage]
            self.later(hours=1)
            self.send(action, message)
        return self
