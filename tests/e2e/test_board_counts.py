"""The board's counts equal `duban task list` for the same filters, through the real stack:
`duban up` (Temporal's dev server, PostgreSQL, the worker, the HTTP service), tasks started
and moved by the `duban` command line, the office signed in to the pages with a personal
token. The board reads the ledger; the list reads Temporal's visibility: once both have
settled they agree, unit by unit and light by light, for the assigning unit alone and with
the urgency too, and what another assigning unit's list holds is not on the board.

Six tasks of this module's own assigning unit, on lead units of their own:
- A-GREEN  led by A, received: green
- A-RED    led by A, its 2-second receipt missed: red, escalated to level 1
- A-YELLOW led by A, urgent, its window inside the warning margin: yellow
- B-GREY   led by B, a difficulty the office answered with suspend: grey
- B-CLOSED led by B, received, deployed, planned, completed and verified: closed
- B-URGENT led by B, urgent, received: green"""

from __future__ import annotations

import json
import re
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.stack import Stack, wait_for

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]

TASK = """
id: {id}
title: 规范行政审批流程
source: 区政府常务会议纪要〔2026〕15号
assigning_unit: {assigning}
lead_unit: {lead}
standard: 形成审批清单
urgency: {urgency}
policy:
  windows: {{receive: {receive}, deploy: 1h, plan: 2h, progress: 3h, stage_every: 3h,
            verify: 1h, difficulty: 1h, difficulty_answer: 1h}}
  escalation: [{{level: lead_unit, answer_within: 1h}}]
  warning_margin: {margin}
  quiet_hours: false
  test_mode: true
"""
LIGHTS = ("green", "yellow", "red", "grey")


@dataclass(frozen=True)
class Made:
    assigning: str
    a: str
    b: str
    ids: dict[str, str]


def start(stack: Stack, folder: Path, made: dict[str, str], name: str, **fields: str) -> str:
    task_id = f"T-BC-{name}-{uuid.uuid4().hex[:6]}"
    values = {"receive": "1h", "margin": "1s", "urgency": "normal", **fields}
    path = folder / f"{task_id}.yaml"
    path.write_text(TASK.format(id=task_id, **values), encoding="utf-8")
    assert stack.ok("task", "start", str(path)).strip() == task_id
    made[name] = task_id
    return task_id


@pytest.fixture(scope="module")
def made(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Made]:
    tag = uuid.uuid4().hex[:6]
    assigning, a, b = f"交办办{tag}", f"甲局{tag}", f"乙局{tag}"
    folder = tmp_path_factory.mktemp("board")
    ids: dict[str, str] = {}

    def task(name: str, lead: str, **fields: str) -> str:
        return start(stack, folder, ids, name, assigning=assigning, lead=lead, **fields)

    def send(task_id: str, command: str, unit: str, *more: str) -> None:
        stack.ok("task", command, task_id, "--unit", unit, "--by", "测试员", *more)

    send(task("A-GREEN", a), "receive", a)
    task("A-RED", a, receive="2s")
    task("A-YELLOW", a, urgency="urgent", margin="2h")
    grey = task("B-GREY", b)
    send(grey, "receive", b)
    send(grey, "difficulty", b, "--text", "经费未落实")
    send(grey, "answer-difficulty", assigning, "--decision", "suspend", "--text", "暂缓")
    closed = task("B-CLOSED", b)
    for command, more in (
        ("receive", ()),
        ("deploy", ()),
        ("report", ("--kind", "plan", "--text", "实施计划")),
        ("report", ("--kind", "completion", "--text", "已完成")),
    ):
        send(closed, command, b, *more)
    send(closed, "verify", assigning)
    send(task("B-URGENT", b, urgency="urgent"), "receive", b)
    wait_for(lambda: stack.show(ids["A-RED"])["escalation_level"] >= 1)
    yield Made(assigning, a, b, ids)


def listed(stack: Stack, made: Made, *filters: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads(stack.ok("task", "list", *filters, "--json"))
    return [r for r in rows if r["id"] in made.ids.values()]


def by_unit(rows: list[dict[str, Any]]) -> dict[str, Counter[str]]:
    """What the board should show for these rows: lights of open tasks, closed apart."""
    units: dict[str, Counter[str]] = {}
    for r in rows:
        u = units.setdefault(r["lead_unit"], Counter())
        if r["stage"] == "closed":
            u["closed"] += 1
        elif r["stage"] != "withdrawn":
            u[r["light"]] += 1
            u["open"] += 1
            u["escalated"] += r["escalation_level"] > 0
    return units


def signed_in(stack: Stack) -> httpx.Client:
    """The office (吴十) signed in to the pages with a personal token, as a browser would."""
    token = stack.ok("token", "issue", "wu.shi", "--days", "1").strip()
    http = httpx.Client(base_url=stack.http_url, timeout=30)
    form = http.get("/login", params={"next": "/board"})
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert csrf, form.text
    done = http.post("/login", data={"csrf": csrf[1], "next": "/board", "token": token})
    assert done.status_code == 303 and done.headers["location"] == "/board", done.text
    return http


def page_counts(
    http: httpx.Client, made: Made, *filters: tuple[str, str]
) -> dict[str, Counter[str]]:
    """The board page's lights table, unit by unit, for this module's units."""
    page = http.get("/board", params={"assigning": made.assigning, **dict(filters)})
    assert page.status_code == 200, page.text
    units: dict[str, Counter[str]] = {}
    for unit, row in re.findall(r'<tr data-unit="([^"]+)">(.*?)</tr>', page.text, re.S):
        if unit not in (made.a, made.b) or unit in units:  # the lights table comes first
            continue
        cells = dict(re.findall(r'data-light="(\w+)">(\d+)<', row))
        counts = Counter({k: int(v) for k, v in cells.items() if int(v)})
        counts["open"] = sum(counts[k] for k in LIGHTS)
        units[unit] = +counts
    return units


def test_the_board_counts_what_task_list_lists(stack: Stack, made: Made) -> None:
    stack.ok("directory", "import", str(ROOT / "deploy" / "examples" / "directory.yaml"))
    http = signed_in(stack)
    want = {
        made.a: Counter(green=1, red=1, yellow=1, open=3, escalated=1),
        made.b: Counter(grey=1, closed=1, green=1, open=2),
    }
    # Both sides settle on the tasks' state (the ledger and visibility follow the workflows).
    mine = ("--assigning-unit", made.assigning)
    wait_for(lambda: by_unit(listed(stack, made, *mine)) == want)
    wait_for(lambda: page_counts(http, made) == want)
    assert page_counts(http, made) == by_unit(listed(stack, made, *mine))

    urgent = by_unit(listed(stack, made, *mine, "--urgency", "urgent"))
    assert urgent == {made.a: Counter(yellow=1, open=1), made.b: Counter(green=1, open=1)}
    assert page_counts(http, made, ("urgency", "urgent")) == urgent

    # light by light: the board's overdue list is `task list --light red`
    reds = {
        r["id"] for r in listed(stack, made, "--assigning-unit", made.assigning, "--light", "red")
    }
    assert reds == {made.ids["A-RED"]}
    body = http.get("/board", params={"assigning": made.assigning}).text
    overdue = body.split("逾期任务", 1)[1].split("已升级任务", 1)[0]
    assert made.ids["A-RED"] in overdue and made.ids["A-GREEN"] not in overdue

    # another assigning unit: nothing of these on its list, nothing on its board
    other = f"{made.assigning}乙"
    assert listed(stack, made, "--assigning-unit", other) == []
    assert page_counts(http, Made(other, made.a, made.b, made.ids)) == {}
