"""Where an entry of an operator's file came from, so a refusal can name its line. The
files themselves are read by starter.safefile, which builds every YAML mapping as one."""

from __future__ import annotations

from pathlib import Path
from typing import Any


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
