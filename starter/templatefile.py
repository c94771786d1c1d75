"""Read a templates file (YAML: notice kind -> text with {fields}); refuse it whole, with the
line, at the first unknown kind or field, a kind given twice, a field the sandbox does not
allow (an attribute, an index, a conversion, a format beyond a width), or a text that says
nothing when filled in for a sample notice of its kind (activities.wording.check)."""

from __future__ import annotations

from pathlib import Path

import yaml

from activities.wording import check
from starter.safefile import TEMPLATES, compose_yaml
from workflows.errors import DubanError


def read_templates(path: Path) -> dict[str, str]:
    root = compose_yaml(path, TEMPLATES)
    if not isinstance(root, yaml.MappingNode) or not root.value:
        raise DubanError(f"{path}: give one `kind: text` per notice kind")
    templates: dict[str, str] = {}
    for key, value in root.value:
        line = key.start_mark.line + 1
        if not isinstance(key, yaml.ScalarNode):
            raise DubanError(f"{path}:{line}: a notice kind is a name")
        if not isinstance(value, yaml.ScalarNode) or not str(value.value).strip():
            raise DubanError(f"{path}:{line}: template {key.value!r} must be text")
        if str(key.value) in templates:
            raise DubanError(f"{path}:{line}: template {key.value!r} is given twice")
        reason = check(str(key.value), str(value.value))
        if reason is not None:
            raise DubanError(f"{path}:{line}: {reason}")
        templates[str(key.value)] = str(value.value)
    return templates
