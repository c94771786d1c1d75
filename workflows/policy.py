"""A supervision policy: how long each window stays open and who the ladder reaches."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from workflows.durations import Duration

Role = Literal["lead_unit", "deputy_secretary_general", "principal_leader"]
LADDER_ORDER: tuple[Role, ...] = ("lead_unit", "deputy_secretary_general", "principal_leader")
# The coordination ladder for disagreements between units (S0 §7, S2 §11).
CoordRole = Literal["office", "leader_in_charge", "principal_leader"]
COORD_ORDER: tuple[CoordRole, ...] = ("office", "leader_in_charge", "principal_leader")
# Everyone a notice may be addressed to: a role, resolved to a person when it is sent.
Recipient = Literal[
    "lead_unit",
    "deputy_secretary_general",
    "principal_leader",
    "co_unit",
    "office",
    "leader_in_charge",
]
ROLE_LABELS: dict[str, str] = {
    "lead_unit": "牵头单位主要负责人",
    "deputy_secretary_general": "副秘书长",
    "principal_leader": "主要领导",
    "co_unit": "协办单位",
    "office": "办公室",
    "leader_in_charge": "分管领导",
}


class Windows(BaseModel):
    """Each window of the procedure (docs/procedure.md, "The stages and their windows")."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    receive: Duration  # sign for the task
    deploy: Duration  # a work plan with timetable, counted from receipt
    plan: Duration  # the implementation plan reported, counted from receipt
    progress: Duration  # the first status report, counted from receipt
    stage_every: Duration  # further status reports until completion
    verify: Duration  # the assigning unit verifies a completion report
    difficulty: Duration = "5wd"  # a difficulty may be reported within this of receipt (S0 §3)
    difficulty_answer: Duration = "3wd"  # the office answers a difficulty report (S0 §3)
    extension_answer: Duration = "3wd"  # the approver answers a request for more time


class WindowOverrides(BaseModel):
    """The windows an urgency level changes; the rest are the policy's own."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    receive: Duration | None = None
    deploy: Duration | None = None
    plan: Duration | None = None
    progress: Duration | None = None
    stage_every: Duration | None = None
    verify: Duration | None = None
    difficulty: Duration | None = None
    difficulty_answer: Duration | None = None
    extension_answer: Duration | None = None


class Rung(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    level: Role
    answer_within: Duration


class CoordRung(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    level: CoordRole
    answer_within: Duration


def _climbs(levels: list[str], order: tuple[str, ...], what: str) -> None:
    ranks = [order.index(level) for level in levels]
    if len(set(levels)) != len(levels) or ranks != sorted(ranks):
        raise ValueError(f"{what} must climb {' -> '.join(order)}, each level once")


class UrgencyRules(BaseModel):
    """How an important or urgent task differs: shorter windows, a faster ladder."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    windows: WindowOverrides = WindowOverrides()
    escalation: list[Rung] | None = None

    @model_validator(mode="after")
    def _ladder_climbs(self) -> UrgencyRules:
        if self.escalation is not None:
            _climbs([r.level for r in self.escalation], LADDER_ORDER, "escalation")
        return self


DEFAULT_COORDINATION = [
    CoordRung(level="office", answer_within="3wd"),
    CoordRung(level="leader_in_charge", answer_within="3wd"),
    CoordRung(level="principal_leader", answer_within="5wd"),
]


class Policy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = "inline"
    windows: Windows
    escalation: list[Rung] = Field(min_length=1)
    important: UrgencyRules | None = None
    urgent: UrgencyRules | None = None
    coordination: list[CoordRung] = Field(default=DEFAULT_COORDINATION, min_length=1)
    # Yellow light, and the lead unit warned once, when a window closes within this.
    warning_margin: Duration = "1wd"
    # Who answers a request for more time: the assigning unit, or a named unit.
    extension_approver: str = "assigning_unit"
    # Non-urgent notices outside working hours wait for the next working morning.
    quiet_hours: bool = True
    # Continue-as-new past this many history events, so a months-long task stays small.
    history_limit: int = Field(default=2000, ge=100, le=40000)
    # The top of the ladder is reminded at most this often for one miss, each reminder
    # waiting twice as long as the one before; then the office is told once (issue 13).
    max_reminders: int = Field(default=5, ge=0, le=50)
    # How long a notice with no answer window of its own keeps being tried while a
    # channel is down (one with an answer window: until that window closes).
    notice_patience: Duration = "1d"
    # Windows in minutes or seconds: for demonstrations and tests only. Outside it every
    # window and answer window is at least an hour (workflows.limits.FLOOR).
    test_mode: bool = False

    @model_validator(mode="after")
    def _ladders_climb(self) -> Policy:
        _climbs([r.level for r in self.escalation], LADDER_ORDER, "escalation")
        _climbs([r.level for r in self.coordination], COORD_ORDER, "coordination")
        return self

    def windows_for(self, urgency: str) -> Windows:
        rules = self._rules(urgency)
        if rules is None:
            return self.windows
        changes = rules.windows.model_dump(exclude_none=True)
        return self.windows.model_copy(update=changes)

    def ladder_for(self, urgency: str) -> list[Rung]:
        rules = self._rules(urgency)
        return rules.escalation if rules and rules.escalation else self.escalation

    def _rules(self, urgency: str) -> UrgencyRules | None:
        return {"important": self.important, "urgent": self.urgent}.get(urgency)


_LADDER = [
    {"level": "lead_unit", "answer_within": "1wd"},
    {"level": "deputy_secretary_general", "answer_within": "1wd"},
    {"level": "principal_leader", "answer_within": "2wd"},
]

BUILTIN: dict[str, Policy] = {
    # The windows of docs/procedure.md (S2 §5, §7; S0 §1): deploy within 3 working days, a
    # plan within 5 and the status within 10, then staged reports.
    "default": Policy.model_validate(
        {
            "name": "default",
            "windows": {
                "receive": "1wd",
                "deploy": "3wd",
                "plan": "5wd",
                "progress": "10wd",
                "stage_every": "10wd",
                "verify": "5wd",
            },
            "escalation": _LADDER,
            # Important and urgent matters "at once" (S2 §5, §7): hours, and a faster ladder.
            "important": {
                "windows": {"receive": "4h", "deploy": "1wd", "plan": "3wd", "progress": "5wd"},
            },
            "urgent": {
                "windows": {
                    "receive": "2h",
                    "deploy": "4h",
                    "plan": "1wd",
                    "progress": "2wd",
                    "stage_every": "5wd",
                    "verify": "2wd",
                    "difficulty_answer": "1wd",
                },
                "escalation": [
                    {"level": "lead_unit", "answer_within": "4h"},
                    {"level": "deputy_secretary_general", "answer_within": "4h"},
                    {"level": "principal_leader", "answer_within": "1wd"},
                ],
            },
        }
    ),
    # The same shape in minutes, so a newcomer watches the whole climb in the UI.
    "demo": Policy.model_validate(
        {
            "name": "demo",
            "windows": {
                "receive": "1m",
                "deploy": "2m",
                "plan": "3m",
                "progress": "4m",
                "stage_every": "3m",
                "verify": "2m",
                "difficulty": "5m",
                "difficulty_answer": "2m",
                "extension_answer": "2m",
            },
            "urgent": {"windows": {"receive": "30s", "deploy": "1m"}},
            "coordination": [
                {"level": "office", "answer_within": "1m"},
                {"level": "leader_in_charge", "answer_within": "1m"},
                {"level": "principal_leader", "answer_within": "2m"},
            ],
            "warning_margin": "30s",
            "quiet_hours": False,
            "test_mode": True,
            "escalation": [
                {"level": "lead_unit", "answer_within": "1m"},
                {"level": "deputy_secretary_general", "answer_within": "1m"},
                {"level": "principal_leader", "answer_within": "2m"},
            ],
        }
    ),
}
