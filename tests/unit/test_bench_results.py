"""The bench's results file (bench/report.py): named by the day the run began, so a run
that passes midnight keeps every scenario in one file, and another run of that day keeps
what it measured marked as its own."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bench import report
from bench.faults import report as faults_report


@pytest.fixture
def results_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(report, "RESULTS", tmp_path / "results")
    return tmp_path / "results"


def run(when: str, **scenarios: dict[str, Any]) -> dict[str, Any]:
    return {"when": when, "command": "python -m bench", "n": 1000, **scenarios}


def test_a_run_past_midnight_writes_every_scenario_into_the_day_it_began(
    results_dir: Path,
) -> None:
    r = run("2026-11-23T22:29:37+00:00", starts={"elapsed_s": 135.4})
    assert report.write(r) == results_dir / "2026-11-23.json"
    r["workers"] = {"elapsed_s": 1079.6}  # measured after midnight, in the same run
    assert report.write(r) == results_dir / "2026-11-23.json"
    assert sorted(p.name for p in results_dir.iterdir()) == ["2026-11-23.json"]
    written = json.loads((results_dir / "2026-11-23.json").read_text())
    assert set(written) >= {"starts", "workers"}
    assert "run" not in written["starts"] and "run" not in written["workers"]


def test_another_run_that_day_replaces_what_it_measured_and_marks_the_rest(
    results_dir: Path,
) -> None:
    first = run("2026-11-23T08:00:00+00:00", starts={"per_s": 30}, storm={"max": 32})
    report.write(first)
    second = run("2026-11-23T20:00:00+00:00", storm={"max": 29})
    report.write(second)
    written = json.loads((results_dir / "2026-11-23.json").read_text())
    assert written["when"] == second["when"]
    assert written["storm"] == {"max": 29}  # this run's, unmarked
    assert written["starts"]["run"]["when"] == first["when"]
    # a run begun the next day has a file of its own and leaves this one alone
    report.write(run("2026-11-24T00:00:01+00:00", storm={"max": 40}))
    assert json.loads((results_dir / "2026-11-23.json").read_text())["storm"] == {"max": 29}
    assert json.loads((results_dir / "2026-11-24.json").read_text())["storm"] == {"max": 40}


def test_the_fault_suite_names_its_file_by_the_day_it_began(results_dir: Path) -> None:
    results = {"when": "2026-11-23T23:50:00+00:00", "scenarios": {}}
    path = faults_report.write(results)
    assert path == results_dir / "faults-2026-11-23.json"
    assert json.loads(path.read_text()) == results


def test_a_when_that_is_not_an_instant_is_refused() -> None:
    with pytest.raises(ValueError):
        report.dated("yesterday")
