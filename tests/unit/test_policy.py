"""The supervision policy: the built-in windows, the ladder's order, strict fields."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from workflows.policy import BUILTIN, LADDER_ORDER, Policy, Windows

WINDOWS = {
    "receive": "1wd",
    "deploy": "3wd",
    "plan": "5wd",
    "progress": "10wd",
    "stage_every": "10wd",
    "verify": "5wd",
}


def policy(escalation: list[dict[str, str]], **windows: str) -> dict[str, Any]:
    return {"windows": {**WINDOWS, **windows}, "escalation": escalation}


def rung(level: str, within: str = "1wd") -> dict[str, str]:
    return {"level": level, "answer_within": within}


def test_default_windows_match_the_issue() -> None:
    default = BUILTIN["default"]
    assert default.name == "default"
    # docs/procedure.md: deploy 3 wd, plan 5 wd, status 10 wd (S2 §5, §7); a difficulty
    # within 5 wd of receipt, the office's answer within 3 wd (S0 §3).
    assert default.windows.model_dump() == {
        **WINDOWS,
        "difficulty": "5wd",
        "difficulty_answer": "3wd",
        "extension_answer": "3wd",
    }


def test_urgency_shortens_the_windows_and_speeds_the_ladder() -> None:
    default = BUILTIN["default"]
    urgent = default.windows_for("urgent")
    assert (urgent.receive, urgent.deploy) == ("2h", "4h")
    assert default.windows_for("normal") == default.windows
    assert default.ladder_for("urgent")[0].answer_within == "4h"
    assert default.ladder_for("important") == default.escalation
    assert [r.level for r in default.coordination] == [
        "office",
        "leader_in_charge",
        "principal_leader",
    ]


def test_default_ladder_matches_the_issue() -> None:
    ladder = [(r.level, r.answer_within) for r in BUILTIN["default"].escalation]
    assert ladder == [
        ("lead_unit", "1wd"),
        ("deputy_secretary_general", "1wd"),
        ("principal_leader", "2wd"),
    ]


def test_demo_policy_has_the_same_shape_in_minutes() -> None:
    demo = BUILTIN["demo"]
    assert demo.name == "demo"
    assert [r.level for r in demo.escalation] == list(LADDER_ORDER)
    assert all(v.endswith("m") for v in demo.windows.model_dump().values())


def test_a_full_ladder_in_order_is_accepted_and_normalised() -> None:
    p = Policy.model_validate(
        policy([rung("lead_unit", "1 wd"), rung("principal_leader", "2wd")], receive=" 2 wd")
    )
    assert p.name == "inline"
    assert p.windows.receive == "2wd"
    assert [r.answer_within for r in p.escalation] == ["1wd", "2wd"]


@pytest.mark.parametrize(
    "levels",
    [
        ["deputy_secretary_general", "lead_unit"],
        ["principal_leader", "deputy_secretary_general", "lead_unit"],
        ["lead_unit", "principal_leader", "deputy_secretary_general"],
    ],
)
def test_ladder_out_of_order_is_refused(levels: list[str]) -> None:
    with pytest.raises(ValidationError, match="escalation must climb"):
        Policy.model_validate(policy([rung(level) for level in levels]))


@pytest.mark.parametrize(
    "levels",
    [
        ["lead_unit", "lead_unit"],
        ["lead_unit", "deputy_secretary_general", "deputy_secretary_general"],
    ],
)
def test_ladder_with_a_repeated_level_is_refused(levels: list[str]) -> None:
    with pytest.raises(ValidationError, match="each level once"):
        Policy.model_validate(policy([rung(level) for level in levels]))


def test_empty_ladder_is_refused() -> None:
    with pytest.raises(ValidationError, match="escalation"):
        Policy.model_validate(policy([]))


def test_unknown_role_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"escalation\.0\.level"):
        Policy.model_validate(policy([rung("mayor")]))


def test_unknown_window_field_is_refused() -> None:
    with pytest.raises(ValidationError) as info:
        Policy.model_validate(policy([rung("lead_unit")], reveive="1wd"))
    errors = info.value.errors()
    assert [(e["loc"], e["type"]) for e in errors] == [(("windows", "reveive"), "extra_forbidden")]


def test_missing_window_is_refused() -> None:
    windows = dict(WINDOWS)
    del windows["verify"]
    with pytest.raises(ValidationError) as info:
        Windows.model_validate(windows)
    assert [(e["loc"], e["type"]) for e in info.value.errors()] == [(("verify",), "missing")]


def test_unknown_policy_field_is_refused() -> None:
    with pytest.raises(ValidationError, match="extra"):
        Policy.model_validate({**policy([rung("lead_unit")]), "colour": "red"})


def test_bad_window_duration_is_refused() -> None:
    with pytest.raises(ValidationError, match="bad duration"):
        Policy.model_validate(policy([rung("lead_unit")], plan="5x"))


def test_policy_is_frozen() -> None:
    with pytest.raises(ValidationError):
        BUILTIN["default"].name = "other"  # type: ignore[misc]
