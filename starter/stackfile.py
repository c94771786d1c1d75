"""Where a running `duban up` says its servers are, so every command can find them."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel

from starter import safefile
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
    """The file for its owner only (0600), from its first byte: it may hold the embedded
    database's password. Written aside and renamed, so no reader sees half of it."""
    path = directory / FILE
    aside = path.with_name(f".{FILE}.{os.getpid()}")
    aside.unlink(missing_ok=True)
    fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(info.model_dump_json(indent=2))
    os.replace(aside, path)


def without_password(url: str) -> str:
    """A database URL without its password (the user and where stay): for a URL the
    environment holds, which the file must not copy."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.netloc.rsplit("@", 1)[0].split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}@{netloc}"))


def remove(directory: Path) -> None:
    (directory / FILE).unlink(missing_ok=True)


def read(directory: Path) -> StackInfo | None:
    """The running stack's file, read as every file is (starter.safefile); None if absent."""
    path = directory / FILE
    if not path.exists():
        return None
    return StackInfo.model_validate(safefile.load_json(path, safefile.STACK))


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
