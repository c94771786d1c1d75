"""The fault suite's kill -9 of the worker and PostgreSQL outage, small and fast (`make
faults` runs all five at 300 tasks): three tasks on a 3-second ladder, their own stack (dev
server, PostgreSQL, receivers, the worker as a process), the fault while they climb. Nothing
lost or stuck, the ledger equal to each workflow's state, every notice delivered once the
fault is over and none twice at the deduplicating receiver, any at the robot flagged; the
PostgreSQL outage named in the worker's log."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.faults import report, run

pytestmark = pytest.mark.timeout(240)


@pytest.mark.parametrize("name", ["worker-kill", "postgres-down"])
async def test_a_fault_costs_no_task_and_no_notice(name: str, tmp_path: Path) -> None:
    fault = run.faults(scale=5 / 60)[name]  # PostgreSQL down 5 s
    figures = await run.run(
        fault,
        3,
        tmp_path / name,
        settle_timeout=150,
        say=lambda _: None,
        policy=run.ladder(3),
        lead=5,
    )

    assert figures["settled"], figures
    assert (figures["lost"], figures["stuck"], figures["ledger_mismatches"]) == (0, 0, 0), figures
    assert figures["notices_expected"] > 3 * 8  # the climb's notices, each over two channels
    assert figures["notices_missing"] == 0, figures
    assert figures["notices_delivered"] == figures["notices_expected"]
    assert figures["dedup_duplicates"] == 0
    assert figures["robot_duplicates_unflagged"] == 0
    assert report.misses(name, figures) == []
    if name == "postgres-down":
        assert figures["log_names"] == ["PostgreSQL"]
        assert figures["log_bytes_during"] < 20_000  # a few lines, not a traceback an attempt
