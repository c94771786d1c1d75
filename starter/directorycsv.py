"""A directory as a spreadsheet: one CSV row per person, with the roles they hold and their
leave, turned into the same shape as the YAML file so both are checked by one parser.

Columns (English or Chinese headers; only id and name are required):
  id 编号, name 姓名, mobile 手机, email 邮箱, wecom 企业微信, dingtalk 钉钉, feishu 飞书,
  prefer 首选渠道 (channels separated by `;`), holds 职责 (`;`-separated: unit_head:UNIT,
  leader_in_charge:UNIT, deputy_secretary_general:UNIT|UNIT, member:UNIT|UNIT (经办人),
  office, principal_leader, ops),
  away_from 请假开始, away_to 请假结束, stand_in 代理人.
Spreadsheets save CSV as UTF-8 (with or without a BOM) or, in China, as GB18030: both read.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from starter.located import Located
from starter.safefile import DIRECTORY, csv_rows
from workflows.errors import DubanError

HEADERS = {
    "id": "id",
    "编号": "id",
    "name": "name",
    "姓名": "name",
    "mobile": "mobile",
    "手机": "mobile",
    "email": "email",
    "邮箱": "email",
    "wecom": "wecom",
    "企业微信": "wecom",
    "dingtalk": "dingtalk",
    "钉钉": "dingtalk",
    "feishu": "feishu",
    "飞书": "feishu",
    "prefer": "prefer",
    "首选渠道": "prefer",
    "holds": "holds",
    "职责": "holds",
    "away_from": "from",
    "请假开始": "from",
    "away_to": "to",
    "请假结束": "to",
    "stand_in": "stand_in",
    "代理人": "stand_in",
}
PERSON_FIELDS = ("id", "name", "mobile", "email", "wecom", "dingtalk", "feishu")
UNIT_ROLES = ("unit_head", "leader_in_charge", "deputy_secretary_general", "member")
SINGLE_ROLES = ("office", "principal_leader")
SHARED_ROLES = ("ops",)  # held for the whole office by any number of people
_LIST = re.compile(r"[;；,，、|]")


def _split(text: str) -> list[str]:
    return [part.strip() for part in _LIST.split(text) if part.strip()]


def _header(path: Path, line: int, fields: list[str]) -> list[str]:
    names = []
    for field in fields:
        name = HEADERS.get(field.strip().lower()) or HEADERS.get(field.strip())
        if name is None:
            raise DubanError(f"{path}:{line}: unknown column {field.strip()!r}")
        names.append(name)
    if "id" not in names or "name" not in names:
        raise DubanError(f"{path}:{line}: the header needs at least id and name")
    return names


class _Shape:
    """The YAML-shaped directory being built, each entry located at its row."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.people: list[Located] = []
        self.units: dict[str, Located] = {}
        self.deputies: list[Located] = []
        self.leave: list[Located] = []
        self.single: Located = Located()
        self.ops: list[str] = []

    def hold(self, line: int, person: str, hold: str) -> None:
        role, _, units = (part.strip() for part in hold.partition(":"))
        where = f"{self.path}:{line}"
        if role in SINGLE_ROLES:
            if units:
                raise DubanError(f"{where}: {role} is held for the whole office, not {units!r}")
            if role in self.single:
                raise DubanError(f"{where}: {role} is already {self.single[role]}")
            self.single[role] = person
            self.single.key_lines[role] = line
            return
        if role in SHARED_ROLES:
            if units:
                raise DubanError(f"{where}: {role} is held for the whole office, not {units!r}")
            self.ops.append(person)
            self.single.key_lines.setdefault(role, line)
            return
        if role not in UNIT_ROLES:
            roles = ", ".join(UNIT_ROLES + SINGLE_ROLES + SHARED_ROLES)
            raise DubanError(f"{where}: unknown role {role!r}: use {roles}")
        if not units:
            raise DubanError(f"{where}: {role} needs its unit, e.g. {role}:区司法局")
        if role == "deputy_secretary_general":
            self.deputies.append(Located({"person": person, "covers": _split(units)}, line))
            return
        for unit in _split(units):
            entry = self.units.setdefault(unit, Located({"name": unit}, line))
            if role == "member":
                entry.setdefault("members", []).append(person)
                continue
            key = "head" if role == "unit_head" else role
            if key in entry:
                raise DubanError(f"{where}: {unit} already has a {role}: {entry[key]}")
            entry[key] = person
            if role == "unit_head":
                entry.line = line  # a unit is where its head is named

    def as_data(self) -> Located:
        data = Located(self.single, key_lines=self.single.key_lines)
        if self.ops:
            data["ops"] = self.ops
        data.update(
            people=self.people,
            units=list(self.units.values()),
            deputy_secretaries_general=self.deputies,
            leave=self.leave,
        )
        return data


def read(path: Path) -> dict[str, Any]:
    shape = _Shape(path)
    names: list[str] | None = None
    for line, fields in csv_rows(path, DIRECTORY):
        if not "".join(fields).strip() or fields[0].strip().startswith("#"):
            continue
        if names is None:
            names = _header(path, line, fields)
            continue
        if len(fields) > len(names):
            raise DubanError(f"{path}:{line}: {len(fields)} fields, the header has {len(names)}")
        row = {n: v.strip() for n, v in zip(names, fields, strict=False) if v.strip()}
        person = Located({k: row[k] for k in PERSON_FIELDS if k in row}, line)
        if row.get("prefer"):
            person["prefer"] = _split(row["prefer"])
        shape.people.append(person)
        for hold in _split_holds(row.get("holds", "")):
            shape.hold(line, row.get("id", ""), hold)
        leave = {k: row[k] for k in ("from", "to", "stand_in") if k in row}
        if leave:
            shape.leave.append(Located({"person": row.get("id", ""), **leave}, line))
    if names is None:
        raise DubanError(f"{path}: the directory file is empty")
    return shape.as_data()


def _split_holds(text: str) -> list[str]:
    """Roles are separated by `;` (units within one role by `|` or `、`)."""
    return [part.strip() for part in re.split(r"[;；]", text) if part.strip()]
