"""The pydantic contracts shared by every room: the task, its messages, its state and records."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from workflows.policy import Policy, Role

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
TaskId = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=r"^\S+$")
]
Urgency = Literal["normal", "important", "urgent"]
ReportKind = Literal["plan", "progress", "completion"]
NoticeKind = Literal["escalation", "copy", "reminder"]


class Stage(StrEnum):
    ASSIGNED = "assigned"
    RECEIVED = "received"
    DEPLOYED = "deployed"
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CLOSED = "closed"
    WITHDRAWN = "withdrawn"


TERMINAL_STAGES = frozenset({Stage.CLOSED, Stage.WITHDRAWN})


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


class Message(BaseModel):
    """A department's message: a receipt, report, sign-off, acknowledgement or withdrawal."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    unit: Text
    by: Text
    text: str = ""
    kind: ReportKind | None = None  # for reports
    role: Role | None = None  # for acknowledgements: the level taking the matter up


Action = Literal["receive", "deploy", "report", "verify", "reject", "ack", "withdraw"]


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


class Event(BaseModel):
    """One transition; its (task id, seq) is the ledger's key."""

    seq: int
    at: datetime
    kind: str
    stage: Stage
    unit: str | None = None
    by: str | None = None
    detail: str = ""
    level: int = 0
    deadline: datetime | None = None


class Notice(BaseModel):
    """One notification to one role of one unit, keyed on the event that caused it."""

    task_id: str
    seq: int
    title: str
    level: int
    role: Role
    unit: str
    kind: NoticeKind
    text: str
    deadline: datetime | None = None
    channel: str = "webhook"


class NoticeOutcome(BaseModel):
    seq: int
    role: Role
    unit: str
    channel: str
    status: Literal["delivered", "failed", "no_channel"]
    attempts: int
    detail: str = ""


class DeadlineRequest(BaseModel):
    """N working days from `opened_at`, or the office's closing time on `on_date`."""

    opened_at: AwareDatetime
    working_days: int = Field(ge=0)
    on_date: date | None = None


class Deadline(BaseModel):
    at: datetime
    rule: str
    fallback: bool = False


class TaskSnapshot(BaseModel):
    """The task row as the ledger keeps it."""

    spec: TaskSpec
    stage: Stage
    escalation_level: int
    next_deadline: datetime | None
    updated_at: datetime


class LedgerBatch(BaseModel):
    """Events not yet in the ledger, written in one transaction with the task row."""

    task: TaskSnapshot
    events: list[Event]


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
    last_report: str | None = None
    rework_reason: str | None = None
    events: list[Event] = Field(default_factory=list)
    unrecorded: list[Event] = Field(default_factory=list)
    notifications: list[NoticeOutcome] = Field(default_factory=list)

    @property
    def next_deadline(self) -> datetime | None:
        if self.stage in TERMINAL_STAGES:
            return None
        if self.escalation_level and self.level_deadline:
            return self.level_deadline
        return self.window.deadline if self.window else None


TaskStart.model_rebuild()
