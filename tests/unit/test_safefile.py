"""Every file a person hands duban is read by one reader (starter.safefile): only regular
files, never past a bound, YAML without aliases, deep nesting or a key given twice, JSON
likewise; calendar CSV as spreadsheets save it. Each refusal is one line naming the file."""

from __future__ import annotations

import json
import os
import threading
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from starter import safefile, stackfile
from starter.calendarfile import read_calendar
from starter.directoryfile import add_leave, read_directory
from starter.taskfile import load_task
from starter.templatefile import read_templates
from tests.unit.test_directory import EXAMPLE as DIRECTORY_EXAMPLE
from tests.unit.test_taskfile import TASK, TODAY, task
from workflows.errors import DubanError

# Six levels of nine: 531,441 strings once expanded, from some 300 bytes.
BOMB = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
"""


def one_line(call: Any, *args: Any) -> str:
    with pytest.raises(DubanError) as info:
        call(*args)
    message = str(info.value)
    assert "\n" not in message, message
    return message


def task_file(tmp_path: Path, text: str, name: str = "task.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def as_yaml(data: Any) -> str:
    return yaml.safe_dump(data, allow_unicode=True)


# -- not a regular file, or too large -----------------------------------------------------


def test_a_policy_that_names_a_device_is_refused_unread(tmp_path: Path) -> None:
    path = task_file(tmp_path, as_yaml(task(policy="/dev/zero")))
    message = one_line(load_task, path, TODAY)
    assert message == (
        f"{path}: /dev/zero: cannot read the policy file: a device, not a regular file"
    )


def test_a_fifo_or_a_directory_is_refused_without_waiting(tmp_path: Path) -> None:
    fifo = tmp_path / "task.yaml"
    os.mkfifo(fifo)
    done: list[str] = []
    reader = threading.Thread(target=lambda: done.append(one_line(load_task, fifo, TODAY)))
    reader.start()
    reader.join(timeout=10)
    if reader.is_alive():  # the old reader waited for a writer: give it one, then fail
        with fifo.open("w") as writer:
            writer.write("title: x\n")
        reader.join()
        pytest.fail("a FIFO was opened and waited on")
    assert done == [f"{fifo}: cannot read the task file: a FIFO, not a regular file"]
    folder = tmp_path / "policies.yaml"
    folder.mkdir()
    message = one_line(
        load_task, task_file(tmp_path, as_yaml(task(policy=folder.name)), "t.yaml"), TODAY
    )
    assert message.endswith(
        f"{folder}: cannot read the policy file: a directory, not a regular file"
    )


def test_a_task_file_is_read_up_to_one_mebibyte_and_no_further(tmp_path: Path) -> None:
    text = as_yaml(TASK)
    padding = safefile.MiB - len(text.encode()) - 1
    path = task_file(tmp_path, text + "#" + "x" * (padding - 1) + "\n")
    assert path.stat().st_size == safefile.MiB
    assert load_task(path, TODAY).title == TASK["title"]
    path.write_text(text + "#" + "x" * padding + "\n", encoding="utf-8")
    message = one_line(load_task, path, TODAY)
    assert message == f"{path}: the task file is larger than 1 MiB, more than any task file needs"


def test_bounds_per_kind_of_file(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_text("#" + "x" * (300 * safefile.KiB) + "\n", encoding="utf-8")
    assert "the templates file is larger than 256 KiB" in one_line(read_templates, big)
    policy = tmp_path / "p.yaml"
    policy.write_text("#" + "x" * (70 * safefile.KiB) + "\n", encoding="utf-8")
    path = task_file(tmp_path, as_yaml(task(policy="p.yaml")))
    assert "the policy file is larger than 64 KiB" in one_line(load_task, path, TODAY)


def test_a_file_of_many_small_values_is_refused_before_it_is_built(tmp_path: Path) -> None:
    # 300 KB, well under the bound, that PyYAML would make 150,000 nodes of (some 100 MB).
    path = task_file(tmp_path, "co_units: [" + ",".join(["a"] * 150_000) + "]\n")
    assert one_line(load_task, path, TODAY) == f"{path}:1: more than 10000 values in a task file"


# -- YAML: aliases, nesting, duplicate keys, values Python refuses --------------------------


@pytest.mark.parametrize(
    ("reader", "name"),
    [
        (lambda p: load_task(p, TODAY), "task.yaml"),
        (read_calendar, "calendar.yaml"),
        (read_directory, "directory.yaml"),
        (read_templates, "templates.yaml"),
    ],
)
def test_an_alias_bomb_is_refused_at_its_first_anchor(
    tmp_path: Path, reader: Any, name: str
) -> None:
    path = task_file(tmp_path, BOMB, name)
    assert one_line(reader, path) == (
        f"{path}:1: YAML anchors and aliases (& and *) are not accepted"
    )


def test_a_calendar_holiday_named_by_an_alias_is_refused(tmp_path: Path) -> None:
    path = task_file(
        tmp_path,
        "holidays:\n  - {name: &n 春节, from: 2027-02-06}\n  - {name: *n, from: 2027-02-08}\n",
        "calendar.yaml",
    )
    assert one_line(read_calendar, path).startswith(f"{path}:2: YAML anchors and aliases")


@pytest.mark.parametrize("name", ["task.yaml", "task.json"])
def test_deep_nesting_is_one_line_never_a_recursion_error(tmp_path: Path, name: str) -> None:
    path = task_file(tmp_path, '{"policy": ' + "[" * 50_000 + "]" * 50_000 + "}\n", name)
    assert one_line(load_task, path, TODAY) == f"{path}:1: nested deeper than 8 levels"


def test_the_deepest_file_a_task_needs_is_read(tmp_path: Path) -> None:
    policy = {
        "windows": {"receive": "1wd"},
        "escalation": [{"level": "lead_unit", "answer_within": "1wd"}],
        "urgent": {"escalation": [{"level": "lead_unit", "answer_within": "4h"}]},
    }
    data = safefile.load_yaml(task_file(tmp_path, as_yaml({"policy": policy})), safefile.TASK)
    assert data["policy"]["urgent"]["escalation"][0]["answer_within"] == "4h"


def test_a_key_given_twice_in_yaml_is_refused_with_its_line(tmp_path: Path) -> None:
    path = task_file(tmp_path, as_yaml(TASK) + "title: 另一个标题\n")
    line = len(as_yaml(TASK).splitlines()) + 1
    assert one_line(load_task, path, TODAY) == (
        f"{path}:{line}: 'title' is given twice (first on line {line - 2})"
    )
    nested = task_file(tmp_path, "policy:\n  windows: {receive: 1wd, receive: 2wd}\n", "p.yaml")
    assert one_line(safefile.load_yaml, nested, safefile.TASK).startswith(
        f"{nested}:2: 'receive' is given twice"
    )


def test_a_key_given_twice_in_json_is_refused_with_its_line(tmp_path: Path) -> None:
    body = json.dumps(TASK, ensure_ascii=False, indent=1)[:-2]
    lines = body.count("\n") + 1
    path = task_file(tmp_path, body + ',\n "title": "另一个标题"\n}\n', "task.json")
    assert one_line(load_task, path, TODAY) == f"{path}:{lines + 1}: 'title' is given twice"
    # In a nested object, the "title" inside it is not the one given twice.
    text = '{\n "policy": {\n  "title": 1,\n  "name": "a",\n  "name": "b"\n },\n "title": 2\n}\n'
    path.write_text(text, encoding="utf-8")
    assert one_line(load_task, path, TODAY) == f"{path}:5: 'name' is given twice"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("due: 2027-13-45\n", "'2027-13-45': month must be in 1..12"),
        ("level: " + "9" * 5000 + "\n", "Exceeds the limit (4300 digits)"),
        ('title: "\\x1b[31m红色"\n', "a control character (U+001B) is not allowed"),
        ('title: "\\u202e反转"\n', "a bidirectional override (U+202E) is not allowed"),
        ("title: a\x00b\n", "a control character (U+0000) is not allowed"),
    ],
)
def test_values_python_would_refuse_are_refused_with_their_line(
    tmp_path: Path, text: str, reason: str
) -> None:
    path = task_file(tmp_path, "id: T-1\n" + text)
    message = one_line(load_task, path, TODAY)
    assert message.startswith(f"{path}:2: ") and reason in message


# -- CSV as spreadsheets save it -------------------------------------------------------------


CALENDAR_CSV = "日期,类型,名称\n2027-02-06,休息,春节\n2027-02-14,上班,春节调休\n"


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gb18030", "utf-8"])
def test_a_calendar_csv_is_read_with_a_bom_or_in_gb18030(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "calendar.csv"
    path.write_bytes(CALENDAR_CSV.replace("日期,类型,名称", "date,kind,name").encode(encoding))
    rows = read_calendar(path)
    assert [(r.day, r.kind, r.name) for r in rows] == [
        (date(2027, 2, 6), "holiday", "春节"),
        (date(2027, 2, 14), "workday", "春节调休"),
    ]
    path.write_bytes(CALENDAR_CSV.encode(encoding))  # a Chinese header is a header too
    assert [r.name for r in read_calendar(path)] == ["春节", "春节调休"]


def test_a_calendar_csv_in_neither_encoding_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "calendar.csv"
    path.write_bytes(CALENDAR_CSV.encode("utf-16"))
    message = one_line(read_calendar, path)
    assert message == f"{path}: cannot read the calendar file: neither UTF-8 nor GB18030"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("2027-02-06,holiday,\x1b[31m春节\n", ":1: a control character (U+001B)"),
        ("2027-02-06,holiday," + "节" * 200_000 + "\n", ":1: not valid CSV: field larger"),
        ("2027-02-06,holiday," + "节" * 101 + "\n", ":1: 名称 101 字，最多 100 字"),
        ("9999-12-31,holiday,末日\n", ":1: 日期 9999-12-31 不在 2004 至 2099 年之间"),
    ],
)
def test_a_calendar_csv_row_no_spreadsheet_means_is_refused(
    tmp_path: Path, text: str, reason: str
) -> None:
    path = tmp_path / "calendar.csv"
    path.write_text(text, encoding="utf-8")
    assert reason in one_line(read_calendar, path)


def test_a_directory_csv_with_a_control_character_is_refused_with_its_line(
    tmp_path: Path,
) -> None:
    path = tmp_path / "directory.csv"
    path.write_text("id,name,mobile\nli.si,李四\x1b[2J,13800000000\n", encoding="gb18030")
    assert one_line(read_directory, path).startswith(f"{path}:2: a control character (U+001B)")


def test_the_example_directory_still_reads(tmp_path: Path) -> None:
    assert read_directory(DIRECTORY_EXAMPLE).people


def test_leave_is_bounded_so_its_check_day_by_day_stays_short() -> None:
    d = read_directory(DIRECTORY_EXAMPLE)
    leave = {"person": "zhang.san", "from": "2027-01-04", "stand_in": "li.si"}
    for to, reason in [
        ("9999-12-31", "结束日期 9999-12-31 不在 2004 至 2099 年之间"),
        ("2099-12-31", "leave of more than 366 days"),
    ]:
        assert reason in one_line(add_leave, d, "leave", {**leave, "to": to})
    assert add_leave(d, "leave", {**leave, "to": "2028-01-04"}).stand_in_id == "li.si"


# -- stack.json ------------------------------------------------------------------------------


def test_stack_json_is_read_through_the_same_reader(tmp_path: Path) -> None:
    info = {"temporal_address": "127.0.0.1:7233", "database_url": "postgresql://x", "pid": 1}
    (tmp_path / "stack.json").write_text(json.dumps(info), encoding="utf-8")
    assert stackfile.read(tmp_path) is not None
    (tmp_path / "stack.json").write_text(json.dumps(info)[:-1] + ', "pid": 2}', encoding="utf-8")
    assert (
        one_line(stackfile.read, tmp_path) == f"{tmp_path / 'stack.json'}:1: 'pid' is given twice"
    )
    (tmp_path / "stack.json").unlink()
    os.mkfifo(tmp_path / "stack.json")
    assert one_line(stackfile.read, tmp_path).endswith("a FIFO, not a regular file")
