"""Read a task file (YAML or JSON) into a complete TaskSpec, or refuse it in one line."""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from starter import safefile
from workflows import limits
from workflows.contracts import TaskSpec
from workflows.errors import DubanError
from workflows.policy import BUILTIN, Policy


def _read_mapping(path: Path, kind: safefile.Kind) -> dict[str, Any]:
    data = safefile.load(path, kind)
    if not isinstance(data, dict):
        raise DubanError(
            f"{path}: the {kind.what} must be a mapping of fields, not {type(data).__name__}"
        )
    return dict(data)


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
        data = _read_mapping(candidate, safefile.POLICY)
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
    data = _read_mapping(path, safefile.TASK)
    try:
        return task_from(data, today, path.parent)
    except DubanError as err:
        raise DubanError(f"{path}: {err}") from err


def task_from(data: dict[str, Any], today: date, base: Path | None) -> TaskSpec:
    """A task file's fields, checked: a complete TaskSpec or one line saying what is wrong.
    `base` is where a policy file named by path is looked for; None allows built-in names
    and inline policies only (the HTTP API reads no file of the server's)."""
    data = dict(data)
    if isinstance(data.get("lead_unit"), list):
        raise DubanError("lead_unit: name exactly one lead unit (S0 §6)")
    policy = data.get("policy", "default")
    if base is None and isinstance(policy, str) and policy not in BUILTIN:
        raise DubanError(
            f"policy: unknown built-in policy {policy!r} (built in: {', '.join(BUILTIN)}; "
            "or give the policy inline)"
        )
    data["policy"] = resolve_policy(policy, base or Path("."))
    if data.get("id") is None:
        data["id"] = f"T-{today.year}-{uuid.uuid4().hex[:8]}"
    try:
        spec = TaskSpec.model_validate(data)
    except ValidationError as err:
        raise DubanError(explain(err)) from err
    if spec.due is not None and spec.due < today:
        raise DubanError(f"due: {spec.due} is already past (today is {today})")
    problem = limits.first(
        limits.spec_problem(
            spec.title,
            spec.source,
            spec.standard,
            [spec.assigning_unit, spec.lead_unit, *spec.co_units],
            len(spec.co_units),
            spec.due,
        ),
        limits.text_problem("id", spec.id, limits.MAX_NAME),
        limits.policy_problem(spec.policy),
    )
    if problem is not None:
        raise DubanError(problem)
    return spec
