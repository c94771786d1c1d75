"""The pydantic contracts shared by every room: the task, its messages, its state and records."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, model_validator
from temporalio.common import SearchAttributeKey

from workflows.names import TERMINAL_STAGES, Action, EventKind, NoticeKind, Stage, Via
from workflows.policy import CoordRole, Policy, Recipient, Role

__all__ = ["TERMINAL_STAGES", "Action", "EventKind", "NoticeKind", "Stage"]

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
TaskId = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=r"^\S+$")
]
Urgency = Literal["normal", "important", "urgent"]
ReportKind = Literal["plan", "progress", "completion"]
URGENCY_RANK = {"normal": 0, "important": 1, "urgent": 2}
Light = Literal["green", "yellow", "red", "grey"]
MatterKind = Literal["difficulty", "extension", "disagreement"]

# What ops filter on in the Web UI and `duban task list`: units, stage, light, deadline.
# Never task content (titles, texts): those are sealed in the payloads.
STAGE = SearchAttributeKey.for_keyword("TaskStage")
LEAD_UNIT = SearchAttributeKey.for_keyword("LeadUnit")
LEVEL = SearchAttributeKey.for_int("EscalationLevel")
NEXT_DEADLINE = SearchAttributeKey.for_datetime("NextDeadline")
LIGHT = SearchAttributeKey.for_keyword("Light")
URGENCY = SearchAttributeKey.for_keyword("Urgency")
FALLBACK = SearchAttributeKey.for_bool("CalendarFallback")
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


class TaskSpec(BaseModel):
    """What the assigning unit hands out: complete, or refused (S2 §4)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: TaskId
    title: Text
    source: Text
    assigning_unit: Text
    lead_unit: Text
    co_units: list[Text] = Field(default_factory=list)
    standard: Text
    due: date | None = None
    urgency: Urgency = "normal"
    policy: Policy

    @model_validator(mode="after")
    def _units_distinct(self) -> TaskSpec:
        if len(set(self.co_units)) != len(self.co_units):
            raise ValueError("co_units: a unit is named twice")
        if self.lead_unit in self.co_units:
            raise ValueError("co_units: the lead unit cannot also be a co-unit")
        return self


class Actor(BaseModel):
    """Who sent a message, as duban decided it from the directory and the credential, never
    from the request: the person, the role they acted in, for which unit, and how."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    person: str
    role: str  # unit_head, member, office, deputy_secretary_general, ..., or operator
    unit: str
    via: Via
    stand_in_for: str | None = None  # the absent holder this person stands in for (缺位递补)


class Message(BaseModel):
    """A department's message: a receipt, report, sign-off, acknowledgement or withdrawal.
    `unit` and `by` are what the task's rules check; `actor` says who it really was."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    unit: Text
    by: Text
    text: str = ""
    kind: ReportKind | None = None  # for reports
    # for acknowledgements: the escalation level taking the matter up; for resolutions:
    # the coordination level resolving a disagreement
    role: Role | CoordRole | None = None
    decision: str | None = None  # the office's answer to a difficulty; approve|refuse
    until: date | None = None  # the date an extension asks for
    urgency: Urgency | None = None  # the urgency a task is raised to
    actor: Actor | None = None  # None from clients before the front door


ACTIONS: tuple[str, ...] = tuple(a.value for a in Action)


class Envelope(BaseModel):
    """A message sent as a signal: which update it stands for, and the message."""

    action: Action
    message: Message


class Accepted(BaseModel):
    """An update's answer: the message was taken and the task now stands here."""

    seq: int
    stage: Stage


class Window(BaseModel):
    """The window the task is waiting on now, and the rule that set its deadline."""

    name: str
    awaiting: str
    owner_unit: str
    opened_at: datetime
    deadline: datetime
    rule: str
    stage: Stage | None = None  # the stage it was opened for
    generation: int = -1  # the task's `advances` when it opened
    span: str | None = None  # the policy's duration, to recompute on a calendar change
    fallback: bool = False  # counted Monday-Friday: the year has no published calendar
    warn_at: datetime | None = None
    warned: bool = False
    missed: bool = False
    paused: float = 0.0  # seconds the window stood still while the task was suspended


class Matter(BaseModel):
    """Something a unit raised that someone must answer in time: a difficulty (the office
    answers), an extension request (the approver answers), a disagreement (the
    coordination ladder answers). A missed answer climbs its own ladder."""

    key: str
    kind: MatterKind
    raised_by: str
    raised_at: datetime
    text: str
    until: date | None = None
    ladder: list[tuple[Recipient, str]]  # (role, answer window), first the one who answers
    unit: str  # the unit that answers at the first level
    level: int = 0  # index into the ladder of whoever must answer now
    opened_at: datetime | None = None
    deadline: datetime | None = None
    rule: str = ""
    missed: bool = False
    resolved: bool = False
    resolution: str | None = None
    paused: float = 0.0  # seconds its clock stood still while the task was suspended


class Event(BaseModel):
    """One transition; its (task id, seq) is the ledger's key."""

    seq: int
    at: datetime
    kind: EventKind
    stage: Stage
    unit: str | None = None
    by: str | None = None
    detail: str = ""
    level: int = 0
    deadline: datetime | None = None
    role: str | None = None  # the role the actor acted in
    via: Via | None = None  # how the actor proved who they are
    stand_in_for: str | None = None  # the absent holder the actor stood in for


class NoticeFacts(BaseModel):
    """What a notice says, as facts: the renderer (activities.wording) writes the words, in
    the office's templates or the built-in ones."""

    subject_unit: str  # the unit it is about: the late one, the one that raised a matter
    window: str | None = None  # the window missed or closing (a key of windows.LABELS)
    window_deadline: datetime | None = None  # when that window closes or closed
    answer_by: datetime | None = None  # when the recipient must answer
    matter: MatterKind | None = None  # a difficulty, extension or disagreement
    said: str = ""  # what the unit said: the matter, the contribution; or why a send failed
    failed_role: Recipient | None = None  # undelivered: whom the failed notice was for
    failed_unit: str | None = None


class Notice(BaseModel):
    """One notification to one role of one unit, keyed on the event that caused it."""

    task_id: str
    seq: int
    title: str
    level: int
    role: Recipient
    unit: str
    kind: NoticeKind
    text: str = ""  # the words, for notices sent before release 3; else rendered from `about`
    deadline: datetime | None = None
    channel: str = "webhook"
    avoid: list[str] = Field(default_factory=list)  # channels that failed: try another
    # Non-urgent notices wait for working hours when the policy says so.
    quiet: bool = False
    urgency: Urgency = "normal"  # urgent notices go by SMS as well
    facts: dict[str, str] = Field(default_factory=dict)  # before release 3: template fields
    about: NoticeFacts | None = None  # from release 3: the facts the words are made of


class NoticeBatch(BaseModel):
    """The notices one event causes, sent by one activity. On its last attempt what has
    still not gone through is reported failed, one by one, instead of failing them all."""

    notices: list[Notice]
    attempts: int  # the retry policy's maximum (0: no maximum, see give_up_at)
    # From release 3: tried for as long as the notices matter; the attempt that begins
    # within a backoff's reach of this reports what still fails as failed (issue 14).
    give_up_at: datetime | None = None


class NoticeOutcome(BaseModel):
    seq: int
    role: Recipient
    unit: str
    channel: str
    status: Literal["delivered", "failed", "no_channel", "waiting", "cancelled"]
    attempts: int
    detail: str = ""
    person: str | None = None  # whom it reached, from the directory
    via: str | None = None  # "holder", or "stand-in for <id>"


class DeadlineRequest(BaseModel):
    """N working days from `opened_at`, or the office's closing time on `on_date`."""

    opened_at: AwareDatetime
    working_days: int = Field(ge=0)
    on_date: date | None = None


class Deadline(BaseModel):
    at: datetime
    rule: str
    fallback: bool = False
    skipped: list[tuple[date, str]] = Field(default_factory=list)  # days not counted, and why


class CalendarYear(BaseModel):
    """One year of working days as a workflow holds it (from release 5): where the year's
    calendar comes from, the days Monday to Friday does not say (holidays, make-up working
    days, a weekend inside a holiday, each with its name), and the office's hours."""

    year: int
    source: Literal["table", "chinesecalendar", "fallback"]
    unusual: list[tuple[date, bool, str]] = Field(default_factory=list)  # day, working, why
    tz: str
    closing: time
    opening: time


class MarginRequest(BaseModel):
    """When the warning margin before `deadline` begins."""

    deadline: AwareDatetime
    margin: str


class TaskSnapshot(BaseModel):
    """The task row as the ledger keeps it."""

    spec: TaskSpec
    stage: Stage
    escalation_level: int
    next_deadline: datetime | None
    updated_at: datetime
    light: Light = "green"
    urgency: Urgency = "normal"
    due: date | None = None
    fallback: bool = False


class LedgerBatch(BaseModel):
    """Events not yet in the ledger, written in one transaction with the task row."""

    task: TaskSnapshot
    events: list[Event]
    # From release 4: the notices of these events (or of events already written), sent by
    # the same activity once the events are in (ledger.record_and_notify).
    notices: list[Notice] = Field(default_factory=list)


class TaskStart(BaseModel):
    """The workflow's one argument: a new task, or the state carried over a continue-as-new."""

    spec: TaskSpec
    assigned_by: str = "duban"
    state: TaskState | None = None


class TaskState(BaseModel):
    """Everything the workflow knows. The `status` query returns it whole."""

    spec: TaskSpec
    stage: Stage = Stage.ASSIGNED
    seq: int = 0
    window: Window | None = None
    escalation_level: int = 0
    level_deadline: datetime | None = None
    held_at_level: int = 0
    misses: int = 0
    advances: int = 0  # bumped by every awaited message: the climb's stop signal
    acks: int = 0
    reminders: int = 0  # the top of the ladder reminded for this miss (release 3)
    last_report: str | None = None
    rework_reason: str | None = None
    urgency: Urgency | None = None  # when raised after assignment; else the spec's
    due: date | None = None  # when moved by an extension; else the spec's
    suspended_at: datetime | None = None  # every clock stops while set
    replans: int = 0  # bumped whenever a deadline moves: the waits re-read it
    difficulty_until: datetime | None = None
    matters: list[Matter] = Field(default_factory=list)
    co_received: list[str] = Field(default_factory=list)
    contributions: int = 0
    extended_until: date | None = None  # an approved extension of the current window
    anchors: dict[str, datetime] = Field(default_factory=dict)  # when each kind last happened
    runs: int = 1  # continue-as-new generations
    rules: int = 0  # the release of the workflow's logic it started under (workflows.releases)
    events: list[Event] = Field(default_factory=list)
    unrecorded: list[Event] = Field(default_factory=list)
    notifications: list[NoticeOutcome] = Field(default_factory=list)

    @property
    def current_urgency(self) -> Urgency:
        return self.urgency or self.spec.urgency

    @property
    def current_due(self) -> date | None:
        return self.due or self.spec.due

    @property
    def fallback(self) -> bool:
        return bool(self.window and self.window.fallback)

    @property
    def next_deadline(self) -> datetime | None:
        if self.stage in TERMINAL_STAGES or self.suspended_at is not None:
            return None
        if self.escalation_level and self.level_deadline:
            return self.level_deadline
        return self.window.deadline if self.window else None

    def light(self, now: datetime) -> Light:
        """grey suspended; red a window or an answer missed; yellow inside the warning
        margin; green on track."""
        if self.stage in TERMINAL_STAGES:
            return "green"
        if self.suspended_at is not None:
            return "grey"
        if self.escalation_level or any(m.missed for m in self.matters if not m.resolved):
            return "red"
        w = self.window
        if w and w.warn_at and now >= w.warn_at:
            return "yellow"
        return "green"

    def open_matter(self, kind: str) -> Matter | None:
        return next((m for m in self.matters if m.kind == kind and not m.resolved), None)


TaskStart.model_rebuild()
