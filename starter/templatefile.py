"""Read a templates file (YAML: notice kind -> text with {fields}); refuse it whole, with the
line, at the first unknown kind or field."""

from __future__ import annotations

from pathlib import Path

import yaml

from activities.templates import check
from workflows.errors import DubanError


def read_templates(path: Path) -> dict[str, str]:
    try:
        text = path.read_text(encoding="utf-8")
        root = yaml.compose(text)
    except (OSError, UnicodeDecodeError) as err:
        raise DubanError(f"{path}: cannot read the templates file: {err}") from err
    except yaml.YAMLError as err:
        raise DubanError(f"{path}: not valid YAML: {str(err).splitlines()[0]}") from err
    if not isinstance(root, yaml.MappingNode) or not root.value:
        raise DubanError(f"{path}: give one `kind: text` per notice kind")
    templates: dict[str, str] = {}
    for key, value in root.value:
        line = key.start_mark.line + 1
        if not isinstance(value, yaml.ScalarNode) or not str(value.value).strip():
            raise DubanError(f"{path}:{line}: template {key.value!r} must be text")
        reason = check(str(key.value), str(value.value))
        if reason is not None:
            raise DubanError(f"{path}:{line}: {reason}")
        templates[str(key.value)] = str(value.value)
    return templates
