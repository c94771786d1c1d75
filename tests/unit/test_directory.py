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
    # Whichever comes first, a stand-in cannot be away while standing in.
    with pytest.raises(DubanError, match=r"li\.si stands in for zhang\.san then"):
        add_leave(d, "leave", {**leave, "person": "li.si", "stand_in": "wang.wu"})


EXAMPLE_CSV = EXAMPLE.with_suffix(".csv")


def test_the_spreadsheet_and_the_yaml_describe_the_same_directory(tmp_path: Path) -> None:
    from_yaml, from_csv = read_directory(EXAMPLE), read_directory(EXAMPLE_CSV)
    assert from_csv.people == from_yaml.people and from_csv.holders == from_yaml.holders
    assert from_csv.units == from_yaml.units and from_csv.absences == from_yaml.absences
    # Saved by a spreadsheet in China: GB18030, or UTF-8 with a byte-order mark.
    for encoding in ("gb18030", "utf-8-sig"):
        saved = tmp_path / f"{encoding}.csv"
        saved.write_bytes(EXAMPLE_CSV.read_text(encoding="utf-8").encode(encoding))
        assert read_directory(saved).holders == from_yaml.holders


def _edited(tmp_path: Path, source: Path, edit: object) -> tuple[Path, int]:
    """The example with one line replaced or added by `edit(lines)`, which returns the
    index it changed: the refusal must name that line (1-based)."""
    lines = source.read_text(encoding="utf-8").splitlines()
    index = edit(lines)  # type: ignore[operator]
    path = tmp_path / source.name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path, index + 1


def _row(lines: list[str], person: str, change: dict[int, str]) -> int:
    """Change columns of a person's CSV row; a new row is added for a new person."""
    width = len(lines[2].split(","))
    index = next((i for i, line in enumerate(lines) if line.startswith(f"{person},")), None)
    if index is None:
        lines.append(",".join([person, "新人"] + [""] * (width - 2)))
        index = len(lines) - 1
    fields = lines[index].split(",")
    for column, value in change.items():
        fields[column] = value
    lines[index] = ",".join(fields)
    return index


HOLDS, AWAY_FROM, AWAY_TO, STAND_IN, MOBILE, WECOM = 7, 8, 9, 10, 2, 4


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (
            lambda ls: _row(ls, "qian.qi", {HOLDS: "deputy_secretary_general:区教育局"}),
            "unknown unit '区教育局'",
        ),
        (lambda ls: _row(ls, "nobody", {}), "nobody has no contact"),
        (lambda ls: _row(ls, "qian.qi", {MOBILE: "", WECOM: ""}), "qian.qi has no contact"),
        (
            lambda ls: _row(
                ls,
                "wu.shi",
                {AWAY_FROM: "2026-12-01", AWAY_TO: "2026-12-03", STAND_IN: "zhao.liu"},
            ),
            "stand-in zhao.liu is away too",
        ),
        (
            lambda ls: _row(
                ls,
                "qian.qi",
                {AWAY_FROM: "2026-12-01", AWAY_TO: "2026-12-03", STAND_IN: "zhao.liu"},
            ),
            "go round in a circle",
        ),
        (lambda ls: _row(ls, "qian.qi", {HOLDS: "mayor:区司法局"}), "unknown role 'mayor'"),
        (lambda ls: _row(ls, "qian.qi", {HOLDS: "unit_head:区司法局"}), "already has a unit_head"),
        (
            lambda ls: _row(ls, "new.one", {MOBILE: "1", HOLDS: "office"}),
            "office is already wu.shi",
        ),
        (lambda ls: _row(ls, "qian.qi", {STAND_IN: "sun.ba"}), "write {person, from, to"),
        (lambda ls: ls.__setitem__(2, ls[2] + ",职级") or 2, "unknown column '职级'"),
    ],
)
def test_a_bad_spreadsheet_is_refused_at_its_line(
    tmp_path: Path, edit: object, reason: str
) -> None:
    path, line = _edited(tmp_path, EXAMPLE_CSV, edit)
    with pytest.raises(DubanError) as info:
        read_directory(path)
    assert str(info.value).startswith(f"{path}:{line}: ") and reason in str(info.value)


def _after(lines: list[str], marker: str, new: str) -> int:
    index = next(i for i, line in enumerate(lines) if line.startswith(marker)) + 1
    lines.insert(index, new)
    return index


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (
            lambda ls: _after(ls, "  - {id: wu.shi", "  - {id: x, name: 无名}"),
            "people[9]: x has no contact",
        ),
        (
            lambda ls: _after(ls, "  - {name: 区人社局", "  - {name: 区教育局, head: nobody}"),
            "units[4]: unknown person 'nobody'",
        ),
        (
            lambda ls: _after(
                ls,
                "  - {person: zhao.liu, from",
                "  - {person: qian.qi, from: 2026-12-01, to: 2026-12-03, stand_in: zhao.liu}",
            ),
            "leave[2]: stand-ins go round in a circle",
        ),
        (
            lambda ls: _after(
                ls, "  - {person: zhao.liu, covers", "  - {person: li.si, covers: [区教育局]}"
            ),
            "deputy_secretaries_general[2]: unknown unit '区教育局'",
        ),
    ],
)
def test_a_bad_yaml_entry_is_refused_at_its_line(tmp_path: Path, edit: object, reason: str) -> None:
    path, line = _edited(tmp_path, EXAMPLE, edit)
    with pytest.raises(DubanError) as info:
        read_directory(path)
    assert str(info.value).startswith(f"{path}:{line}: {reason}")
