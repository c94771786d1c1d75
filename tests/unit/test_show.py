"""`duban task show` marks a coordination deadline missed only once it has passed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from starter.commands import explain_deadlines
from tests.workflows.harness import make_spec
from workflows.contracts import Matter, TaskState


def _state(deadline: datetime) -> TaskState:
    now = datetime.now(UTC)
    matter = Matter(
        key="disagreement:3",
        kind="disagreement",
        raised_by="区财政局",
        raised_at=now - timedelta(days=5),
        text="经费分担",
        ladder=[("office", "3wd"), ("leader_in_charge", "3wd"), ("principal_leader", "5wd")],
        unit="区政府办公室",
        level=1,  # the office missed; the leader in charge answers now
        opened_at=now - timedelta(hours=1),
        deadline=deadline,
        missed=True,
    )
    return TaskState(spec=make_spec(), matters=[matter])


def test_the_level_answering_now_is_not_late_before_its_deadline() -> None:
    [row] = explain_deadlines(_state(datetime.now(UTC) + timedelta(days=2)))
    assert row["missed"] is False


def test_the_level_answering_now_is_late_once_its_deadline_passed() -> None:
    [row] = explain_deadlines(_state(datetime.now(UTC) - timedelta(minutes=1)))
    assert row["missed"] is True
