"""Read a task file (YAML or JSON) into a complete TaskSpec, or refuse it in one line."""

from __future__ import annotations

import json
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from workflows.contracts import TaskSpec
from workflows.errors import DubanError
from workflows.policy import BUILTIN, Policy


def _read_mapping(path: Path, what: str) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise DubanError(f"{path}: cannot read the {what}: {err}") from err
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except json.JSONDecodeError as err:
        raise DubanError(f"{path}: not valid JSON (line {err.lineno}): {err.msg}") from err
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(err, "problem", None) or str(err)
        raise DubanError(f"{path}: not valid YAML{where}: {problem}") from err
    if not isinstance(data, dict):
        raise DubanError(
            f"{path}: the {what} must be a mapping of fields, not {type(data).__name__}"
        )
    return data


def explain(err: ValidationError) -> str:
    """Pydantic's errors as one line: where and what."""
    parts = []
    for item in err.errors():
        where = ".".join(str(p) for p in item["loc"]) or "file"
        message = "missing" if item["type"] == "missing" else item["msg"]
        message = message.removeprefix("Value error, ")
        parts.append(f"{where}: {message}")
    return "; ".join(parts)


def resolve_policy(value: Any, base: Path) -> Policy:
    """A built-in name, a path to a policy file (relative to the task file), or a mapping."""
    if isinstance(value, str):
        if value in BUILTIN:
            return BUILTIN[value]
        candidate = base / Path(value).expanduser()
        if not candidate.suffix and not candidate.exists():
            raise DubanError(
                f"policy: unknown built-in policy {value!r} (built in: {', '.join(BUILTIN)}; "
                "or give a path to a policy file)"
            )
        data = _read_mapping(candidate, "policy")
        data.setdefault("name", candidate.stem)
        value = data
    if not isinstance(value, dict):
        raise DubanError("policy: give a built-in name, a path to a policy file, or a mapping")
    value.setdefault("name", "inline")
    try:
        return Policy.model_validate(value)
    except ValidationError as err:
        raise DubanError(f"policy: {explain(err)}") from err


def load_task(path: Path, today: date) -> TaskSpec:
    data = _read_mapping(path, "task file")
    if isinstance(data.get("lead_unit"), list):
        raise DubanError(f"{path}: lead_unit: name exactly one lead unit (S0 §6)")
    try:
        data["policy"] = resolve_policy(data.get("policy", "default"), path.parent)
    except DubanError as err:
        raise DubanError(f"{path}: {err}") from err
    if data.get("id") is None:
        data["id"] = f"T-{today.year}-{uuid.uuid4().hex[:8]}"
    try:
        spec = TaskSpec.model_validate(data)
    except ValidationError as err:
        raise DubanError(f"{path}: {explain(err)}") from err
    if spec.due is not None and spec.due < today:
        raise DubanError(f"{path}: due: {spec.due} is already past (today is {today})")
    return spec
