"""Reading a task file: a complete TaskSpec, or one line saying what is wrong and where."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from starter.taskfile import load_task
from workflows.errors import DubanError
from workflows.policy import BUILTIN

TODAY = date(2026, 11, 20)

TASK: dict[str, Any] = {
    "id": "T-2026-0001",
    "title": "完善行政执法协调机制",
    "source": "区政府常务会议纪要〔2026〕12号",
    "assigning_unit": "区政府办公室",
    "lead_unit": "区司法局",
    "co_units": ["区财政局", "区人社局"],
    "standard": "形成协调办法并印发",
    "due": "2026-12-31",
    "urgency": "important",
}

POLICY_FILE: dict[str, Any] = {
    "windows": {
        "receive": "2wd",
        "deploy": "4wd",
        "plan": "6wd",
        "progress": "12wd",
        "stage_every": "15wd",
        "verify": "3wd",
    },
    "escalation": [
        {"level": "lead_unit", "answer_within": "1wd"},
        {"level": "principal_leader", "answer_within": "3wd"},
    ],
}


def write_yaml(path: Path, data: Any) -> Path:
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def task(**changes: Any) -> dict[str, Any]:
    data = dict(TASK)
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def refusal(path: Path, today: date = TODAY) -> str:
    with pytest.raises(DubanError) as info:
        load_task(path, today)
    message = str(info.value)
    assert "\n" not in message, message
    return message


def test_complete_yaml_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "task.yaml"
    path.write_text(
        "id: T-2026-0001\n"
        "title: 完善行政执法协调机制\n"
        "source: 区政府常务会议纪要〔2026〕12号\n"
        "assigning_unit: 区政府办公室\n"
        "lead_unit: 区司法局\n"
        "co_units: [区财政局, 区人社局]\n"
        "standard: 形成协调办法并印发\n"
        "due: 2026-12-31\n"
        "urgency: important\n"
        "policy: default\n",
        encoding="utf-8",
    )
    spec = load_task(path, TODAY)
    assert spec.id == "T-2026-0001"
    assert spec.title == "完善行政执法协调机制"
    assert spec.source == "区政府常务会议纪要〔2026〕12号"
    assert spec.assigning_unit == "区政府办公室"
    assert spec.lead_unit == "区司法局"
    assert spec.co_units == ["区财政局", "区人社局"]
    assert spec.standard == "形成协调办法并印发"
    assert spec.due == date(2026, 12, 31)
    assert spec.urgency == "important"
    assert spec.policy == BUILTIN["default"]


def test_policy_defaults_to_the_default_policy(tmp_path: Path) -> None:
    spec = load_task(write_yaml(tmp_path / "task.yml", task()), TODAY)
    assert spec.policy == BUILTIN["default"]


def test_builtin_demo_policy_by_name(tmp_path: Path) -> None:
    spec = load_task(write_yaml(tmp_path / "task.yaml", task(policy="demo")), TODAY)
    assert spec.policy == BUILTIN["demo"]


def test_json_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "task.json"
    path.write_text(json.dumps(task(policy="demo"), ensure_ascii=False), encoding="utf-8")
    spec = load_task(path, TODAY)
    assert spec.id == "T-2026-0001"
    assert spec.lead_unit == "区司法局"
    assert spec.due == date(2026, 12, 31)
    assert spec.policy.name == "demo"


def test_invalid_json_is_refused_with_line(tmp_path: Path) -> None:
    path = tmp_path / "task.json"
    path.write_text('{\n  "title": "x",\n  oops\n}', encoding="utf-8")
    message = refusal(path)
    assert message.startswith(f"{path}: not valid JSON (line 3)")


def test_id_generated_when_absent(tmp_path: Path) -> None:
    path = write_yaml(tmp_path / "task.yaml", task(id=None))
    first = load_task(path, TODAY)
    second = load_task(path, TODAY)
    assert first.id.startswith("T-2026-")
    assert len(first.id) > len("T-2026-")
    assert first.id != second.id


def test_id_uses_the_year_of_today(tmp_path: Path) -> None:
    path = write_yaml(tmp_path / "task.yaml", task(id=None, due=None))
    assert load_task(path, date(2031, 1, 2)).id.startswith("T-2031-")


def test_missing_field_names_file_and_field(tmp_path: Path) -> None:
    path = write_yaml(tmp_path / "task.yaml", task(lead_unit=None))
    message = refusal(path)
    assert str(path) in message
    assert "lead_unit: missing" in message


def test_several_missing_fields_in_one_line(tmp_path: Path) -> None:
    path = write_yaml(tmp_path / "task.yaml", task(title=None, standard=None))
    message = refusal(path)
    assert "title: missing" in message
    assert "standard: missing" in message


def test_lead_unit_as_a_list_is_refused(tmp_path: Path) -> None:
    path = write_yaml(tmp_path / "task.yaml", task(lead_unit=["区司法局", "区财政局"]))
    message = refusal(path)
    assert str(path) in message
    assert "lead_unit" in message
    assert "exactly one" in message


def test_blank_title_is_refused(tmp_path: Path) -> None:
    message = refusal(write_yaml(tmp_path / "task.yaml", task(title="   ")))
    assert "title:" in message


def test_unknown_field_is_refused(tmp_path: Path) -> None:
    message = refusal(write_yaml(tmp_path / "task.yaml", task(colour="red")))
    assert "colour" in message


def test_lead_unit_also_a_co_unit_is_refused(tmp_path: Path) -> None:
    path = write_yaml(tmp_path / "task.yaml", task(co_units=["区司法局"]))
    assert "lead unit cannot also be a co-unit" in refusal(path)


def test_unknown_builtin_policy_lists_builtins(tmp_path: Path) -> None:
    path = write_yaml(tmp_path / "task.yaml", task(policy="strict"))
    message = refusal(path)
    assert str(path) in message
    assert "unknown built-in policy 'strict'" in message
    for name in BUILTIN:
        assert name in message


def test_policy_file_beside_the_task_file(tmp_path: Path) -> None:
    write_yaml(tmp_path / "strict.yaml", POLICY_FILE)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    # the relative path is resolved against the task file, not the working directory
    path = write_yaml(tmp_path / "task.yaml", task(policy="strict.yaml"))
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(elsewhere)
        spec = load_task(path, TODAY)
    assert spec.policy.name == "strict"
    assert spec.policy.windows.receive == "2wd"
    assert spec.policy.windows.stage_every == "15wd"
    assert [r.level for r in spec.policy.escalation] == ["lead_unit", "principal_leader"]


def test_policy_file_keeps_its_own_name(tmp_path: Path) -> None:
    write_yaml(tmp_path / "strict.yaml", {**POLICY_FILE, "name": "区级严格"})
    spec = load_task(write_yaml(tmp_path / "task.yaml", task(policy="strict.yaml")), TODAY)
    assert spec.policy.name == "区级严格"


def test_missing_policy_file_cannot_be_read(tmp_path: Path) -> None:
    path = write_yaml(tmp_path / "task.yaml", task(policy="nowhere.yaml"))
    message = refusal(path)
    assert message.startswith(f"{path}: ")
    assert "cannot read the policy" in message


def test_bad_policy_file_names_the_field(tmp_path: Path) -> None:
    bad = {
        **POLICY_FILE,
        "escalation": [
            {"level": "principal_leader", "answer_within": "1wd"},
            {"level": "lead_unit", "answer_within": "1wd"},
        ],
    }
    write_yaml(tmp_path / "strict.yaml", bad)
    message = refusal(write_yaml(tmp_path / "task.yaml", task(policy="strict.yaml")))
    assert "policy:" in message
    assert "escalation must climb" in message


def test_inline_policy_mapping(tmp_path: Path) -> None:
    spec = load_task(write_yaml(tmp_path / "task.yaml", task(policy=POLICY_FILE)), TODAY)
    assert spec.policy.name == "inline"
    assert spec.policy.windows.deploy == "4wd"


def test_inline_policy_with_a_bad_duration(tmp_path: Path) -> None:
    inline = {**POLICY_FILE, "windows": {**POLICY_FILE["windows"], "plan": "5x"}}
    path = write_yaml(tmp_path / "task.yaml", task(policy=inline))
    message = refusal(path)
    assert str(path) in message
    assert "policy: windows.plan" in message
    assert "bad duration '5x'" in message


def test_policy_of_the_wrong_type(tmp_path: Path) -> None:
    message = refusal(write_yaml(tmp_path / "task.yaml", task(policy=[1, 2])))
    assert "policy: give a built-in name" in message


def test_due_before_today_is_refused(tmp_path: Path) -> None:
    path = write_yaml(tmp_path / "task.yaml", task(due="2026-11-19"))
    message = refusal(path)
    assert str(path) in message
    assert "due: 2026-11-19 is already past" in message
    assert "2026-11-20" in message


def test_due_today_is_accepted(tmp_path: Path) -> None:
    spec = load_task(write_yaml(tmp_path / "task.yaml", task(due="2026-11-20")), TODAY)
    assert spec.due == TODAY


def test_unreadable_yaml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "task.yaml"
    path.write_text("id: T-1\nsource: x\ntitle: [unclosed\n", encoding="utf-8")
    message = refusal(path)
    assert message == (
        f"{path}: not valid YAML (line 4, column 1): expected ',' or ']', but got '<stream end>'"
    )


def test_unreadable_yaml_on_the_first_line(tmp_path: Path) -> None:
    path = tmp_path / "task.yaml"
    path.write_text("title: [unclosed", encoding="utf-8")
    message = refusal(path)
    assert "not valid YAML (line 1," in message


def test_bad_indentation_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "task.yaml"
    path.write_text("title: x\n  source: y\n", encoding="utf-8")
    message = refusal(path)
    assert "not valid YAML (line 2," in message
    assert "mapping values are not allowed here" in message


def test_unreadable_policy_file_names_both_files(tmp_path: Path) -> None:
    policy = tmp_path / "strict.yaml"
    policy.write_text("windows: {receive: 1wd\n", encoding="utf-8")
    path = write_yaml(tmp_path / "task.yaml", task(policy="strict.yaml"))
    message = refusal(path)
    assert message.startswith(f"{path}: {policy}: not valid YAML (line ")


def test_policy_path_under_home_is_expanded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    write_yaml(home / "strict.yaml", POLICY_FILE)
    tasks = tmp_path / "tasks"
    tasks.mkdir()
    spec = load_task(write_yaml(tasks / "task.yaml", task(policy="~/strict.yaml")), TODAY)
    assert spec.policy.name == "strict"


@pytest.mark.parametrize(
    ("text", "kind"), [("- a\n- b\n", "list"), ("just words\n", "str"), ("", "NoneType")]
)
def test_a_file_that_is_not_a_mapping_is_refused(tmp_path: Path, text: str, kind: str) -> None:
    path = tmp_path / "task.yaml"
    path.write_text(text, encoding="utf-8")
    message = refusal(path)
    assert str(path) in message
    assert f"must be a mapping of fields, not {kind}" in message


def test_a_nonexistent_file_cannot_be_read(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"
    message = refusal(path)
    assert message.startswith(f"{path}: cannot read the task file")


def test_a_file_that_is_not_utf8_cannot_be_read(tmp_path: Path) -> None:
    path = tmp_path / "task.yaml"
    path.write_bytes("title: 督办\n".encode("gbk"))
    assert "cannot read the task file" in refusal(path)
