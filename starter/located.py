"""Where an entry of an operator's file came from, so a refusal can name its line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from workflows.errors import DubanError


class Located(dict[str, Any]):
    """A mapping read from a file, with the line it starts on and each key's own line."""

    def __init__(self, items: Any = (), line: int = 0, key_lines: dict[str, int] | None = None):
        super().__init__(items)
        self.line = line
        self.key_lines = key_lines or {}


def at(path: Path, entry: Any, label: str, key: str | None = None) -> str:
    """`file:line: label` where the entry knows its line, else `file: label`."""
    line = getattr(entry, "line", 0)
    if key is not None:
        line = getattr(entry, "key_lines", {}).get(key, line)
    return f"{path}:{line}: {label}" if line else f"{path}: {label}"


class _LineLoader(yaml.SafeLoader):
    """The safe loader, building every mapping as a `Located`."""


def _mapping(loader: _LineLoader, node: yaml.MappingNode) -> Located:
    items = loader.construct_mapping(node, deep=True)
    keys = {str(k.value): k.start_mark.line + 1 for k, _ in node.value}
    return Located(items, node.start_mark.line + 1, keys)


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def load_yaml(path: Path, what: str) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise DubanError(f"{path}: cannot read the {what} file: {err}") from err
    try:
        return yaml.load(text, Loader=_LineLoader)  # a SafeLoader subclass: no tags
    except yaml.YAMLError as err:
        raise DubanError(f"{path}: not valid YAML: {str(err).splitlines()[0]}") from err
