"""The directory file and whom a notice reaches: the holder, or the stand-in while away."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml

from activities.directory import DirectoryError
from starter.directoryfile import add_leave, read_directory
from workflows.errors import DubanError

EXAMPLE = Path(__file__).parents[2] / "deploy" / "examples" / "directory.yaml"


def variant(tmp_path: Path, change: object) -> Path:
    data = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    change(data)  # type: ignore[operator]
    path = tmp_path / "directory.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_the_example_reads_and_resolves_holders_and_stand_ins() -> None:
    d = read_directory(EXAMPLE)
    head = d.resolve("lead_unit", "区司法局", date(2026, 11, 23))
    assert (head.person.name, head.via) == ("张三", "holder")
    # The deputy secretary-general covering 区司法局 is on leave: the stand-in is told.
    dsg = d.resolve("deputy_secretary_general", "区司法局", date(2026, 11, 23))
    assert (dsg.person.name, dsg.via) == ("钱七", "stand-in for zhao.liu")
    after = d.resolve("deputy_secretary_general", "区司法局", date(2027, 1, 4))
    assert after.person.name == "赵六"
    assert d.resolve("principal_leader", "区司法局", date(2026, 11, 23)).person.name == "孙八"
    assert d.resolve("co_unit", "区财政局", date(2026, 11, 23)).person.name == "李四"


def test_a_role_nobody_holds_is_a_clear_error() -> None:
    d = read_directory(EXAMPLE)
    with pytest.raises(DirectoryError, match="nobody holds deputy_secretary_general for 区教育局"):
        d.resolve("deputy_secretary_general", "区教育局", date(2026, 11, 23))


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (
            lambda d: d["deputy_secretaries_general"][0]["covers"].append("区教育局"),
            "unknown unit '区教育局'",
        ),
        (lambda d: d["people"].append({"id": "x", "name": "无名"}), "x has no contact"),
        (lambda d: d["units"][0].update(head="nobody"), "unknown person 'nobody'"),
        (lambda d: d.pop("principal_leader"), "principal_leader: missing"),
        (lambda d: d["people"][0].update(prefer=["pager"]), "unknown channel 'pager'"),
        (
            lambda d: d["leave"].append(
                {
                    "person": "zhang.san",
                    "from": "2026-12-01",
                    "to": "2026-12-03",
                    "stand_in": "zhao.liu",
                }
            ),
            "stand-in zhao.liu is away too",
        ),
        (
            lambda d: d["leave"].append(
                {
                    "person": "qian.qi",
                    "from": "2026-12-01",
                    "to": "2026-12-03",
                    "stand_in": "zhao.liu",
                }
            ),
            "go round in a circle",
        ),
        (
            lambda d: d["leave"].append(
                {"person": "li.si", "from": "2026-02-30", "to": "2026-03-03", "stand_in": "wang.wu"}
            ),
            "is not a date",
        ),
    ],
)
def test_a_bad_directory_is_refused_whole(tmp_path: Path, change: object, reason: str) -> None:
    with pytest.raises(DubanError) as info:
        read_directory(variant(tmp_path, change))
    assert reason in str(info.value) and "\n" not in str(info.value)


def test_leave_added_later_is_checked_the_same_way() -> None:
    d = read_directory(EXAMPLE)
    leave = {"person": "zhang.san", "from": "2026-12-07", "to": "2026-12-11", "stand_in": "li.si"}
    add_leave(d, "leave", leave)
    assert d.resolve("lead_unit", "区司法局", date(2026, 12, 8)).via == "stand-in for zhang.san"
    with pytest.raises(DubanError, match="already has leave"):
        add_leave(d, "leave", {**leave, "stand_in": "wang.wu"})
