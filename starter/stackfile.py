"""Where a running `duban up` says its servers are, so every command can find them."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel

from workflows.errors import DubanError

FILE = "stack.json"


class StackInfo(BaseModel):
    temporal_address: str
    namespace: str = "default"
    ui_url: str | None = None
    database_url: str
    pid: int


def data_dir(given: str | None) -> Path:
    return Path(given or os.environ.get("DUBAN_DATA_DIR") or ".duban")


def write(directory: Path, info: StackInfo) -> None:
    (directory / FILE).write_text(info.model_dump_json(indent=2), encoding="utf-8")


def remove(directory: Path) -> None:
    (directory / FILE).unlink(missing_ok=True)


def read(directory: Path) -> StackInfo | None:
    path = directory / FILE
    if not path.exists():
        return None
    return StackInfo.model_validate_json(path.read_text(encoding="utf-8"))


def temporal_address(directory: Path) -> str:
    """TEMPORAL_ADDRESS when set, else the stack that `duban up` started in `directory`."""
    if os.environ.get("TEMPORAL_ADDRESS"):
        return os.environ["TEMPORAL_ADDRESS"]
    info = read(directory)
    if info is None:
        raise DubanError(
            f"no running duban found in {directory}/ (start one with `duban up`, "
            "or set TEMPORAL_ADDRESS)"
        )
    return info.temporal_address
