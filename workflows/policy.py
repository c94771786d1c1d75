"""A supervision policy: how long each window stays open and who the ladder reaches."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from workflows.durations import Duration

Role = Literal["lead_unit", "deputy_secretary_general", "principal_leader"]
LADDER_ORDER: tuple[Role, ...] = ("lead_unit", "deputy_secretary_general", "principal_leader")
ROLE_LABELS: dict[str, str] = {
    "lead_unit": "牵头单位主要负责人",
    "deputy_secretary_general": "副秘书长",
    "principal_leader": "主要领导",
}


class Windows(BaseModel):
    """Each window of the procedure (DOMAIN.md, "The life of one task")."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    receive: Duration  # sign for the task
    deploy: Duration  # a work plan with timetable, counted from receipt
    plan: Duration  # the implementation plan reported, counted from receipt
    progress: Duration  # the first status report, counted from receipt
    stage_every: Duration  # further status reports until completion
    verify: Duration  # the assigning unit verifies a completion report


class Rung(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    level: Role
    answer_within: Duration


class Policy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = "inline"
    windows: Windows
    escalation: list[Rung] = Field(min_length=1)

    @model_validator(mode="after")
    def _ladder_climbs(self) -> Policy:
        roles = [rung.level for rung in self.escalation]
        ranks = [LADDER_ORDER.index(role) for role in roles]
        if len(set(roles)) != len(roles) or ranks != sorted(ranks):
            raise ValueError(
                "escalation must climb lead_unit -> deputy_secretary_general -> principal_leader, "
                "each level once"
            )
        return self


_LADDER = [
    {"level": "lead_unit", "answer_within": "1wd"},
    {"level": "deputy_secretary_general", "answer_within": "1wd"},
    {"level": "principal_leader", "answer_within": "2wd"},
]

BUILTIN: dict[str, Policy] = {
    # The windows of DOMAIN.md (S2 §5, §7; S0 §1): deploy within 3 working days, a plan
    # within 5 and the status within 10, then staged reports.
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
            },
            "escalation": [
                {"level": "lead_unit", "answer_within": "1m"},
                {"level": "deputy_secretary_general", "answer_within": "1m"},
                {"level": "principal_leader", "answer_within": "2m"},
            ],
        }
    ),
}
