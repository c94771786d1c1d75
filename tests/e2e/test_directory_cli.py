"""The directory through the command line: import, show, leave; an escalation to a deputy
secretary-general on leave reaches the stand-in, once, and the ledger says so."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import asyncpg
import pytest

from activities import directory as store
from tests.e2e.stack import Stack, wait_for
from tests.e2e.test_cli import task_file
from tests.peers import WebhookReceiver
from tests.unit.test_directory import EXAMPLE

pytestmark = pytest.mark.e2e


async def _clear(url: str) -> None:
    pool = await asyncpg.create_pool(url, min_size=1, max_size=1)
    try:
        await store.replace(pool, store.Directory())
    finally:
        await pool.close()


@pytest.fixture
def directory_imported(stack: Stack) -> Iterator[None]:
    yield
    asyncio.run(_clear(stack.database_url))  # the other end-to-end tests run without one


def test_the_stand_in_of_a_deputy_on_leave_is_told(
    stack: Stack, receiver: WebhookReceiver, tmp_path: Path, directory_imported: None
) -> None:
    without_leave = tmp_path / "directory.yaml"
    text = EXAMPLE.read_text(encoding="utf-8")
    without_leave.write_text(text[: text.index("leave:")], encoding="utf-8")
    out = stack.ok("directory", "import", str(without_leave))
    assert "imported 11 people, 4 units" in out
    today = date.today()
    stack.ok(
        "leave",
        "add",
        "zhao.liu",
        "--from",
        str(today - timedelta(days=1)),
        "--to",
        str(today + timedelta(days=10)),
        "--stand-in",
        "qian.qi",
    )
    refused = stack.duban(
        "leave",
        "add",
        "qian.qi",
        "--from",
        str(today),
        "--to",
        str(today + timedelta(days=2)),
        "--stand-in",
        "zhao.liu",
    )
    assert refused.returncode == 1 and "circle" in refused.stderr
    shown = json.loads(stack.ok("directory", "show", "--json"))
    assert {
        "person": "zhao.liu",
        "from": str(today - timedelta(days=1)),
        "to": str(today + timedelta(days=10)),
        "stand_in": "qian.qi",
    } in shown["absences"]

    path = task_file(tmp_path, "T-E2E-STANDIN")
    stack.ok("task", "start", str(path))
    wait_for(lambda: stack.show("T-E2E-STANDIN")["escalation_level"] >= 2)

    def to_deputy() -> list[dict[str, object]]:
        return [
            p
            for p in receiver.for_task("T-E2E-STANDIN")
            if p["recipient_role"] == "deputy_secretary_general" and p["kind"] == "escalation"
        ]

    [sent] = wait_for(to_deputy)
    assert sent["person"] == {"id": "qian.qi", "name": "钱七"}
    assert sent["reached_via"] == "stand-in for zhao.liu"
    stack.ok("task", "receive", "T-E2E-STANDIN", "--unit", "区司法局", "--by", "张三")
    state = wait_for(lambda: (s := stack.show("T-E2E-STANDIN"))["escalation_level"] == 0 and s)
    told = [
        n
        for n in state["notifications"]
        if n["role"] == "deputy_secretary_general" and n["via"] == "stand-in for zhao.liu"
    ]
    assert told and all(n["person"] == "qian.qi" for n in told)
    assert len(to_deputy()) == 1  # once


def test_a_spreadsheet_imports_and_a_bad_row_is_refused_at_its_line(
    stack: Stack, tmp_path: Path, directory_imported: None
) -> None:
    sheet = EXAMPLE.with_suffix(".csv")
    out = stack.ok("directory", "import", str(sheet))
    assert "imported 11 people, 4 units" in out and "1 absences" in out
    before = stack.ok("directory", "show", "--json")

    bad = tmp_path / "directory.csv"
    rows = sheet.read_text(encoding="utf-8").splitlines()
    rows.append("new.one,新人,,,,,,unit_head:区教育局,,,")  # a unit head with no contact
    bad.write_text("\n".join(rows) + "\n", encoding="gb18030")
    refused = stack.duban("directory", "import", str(bad))
    assert refused.returncode == 1
    assert refused.stderr.startswith(
        f"duban: {bad}:{len(rows)}: people[12]: new.one has no contact"
    )
    assert refused.stderr.count("\n") == 1
    assert stack.ok("directory", "show", "--json") == before  # nothing imported
