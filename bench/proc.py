"""Processes as Linux shows them in /proc: resident memory, and finding our dev server."""

from __future__ import annotations

import contextlib
from pathlib import Path

MIB = 1024 * 1024


def memory_mib(pid: int) -> dict[str, float]:
    """Resident memory now (VmRSS) and its high-water mark (VmHWM), in MiB."""
    fields: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0]) * 1024 / MIB
    return {"rss_mib": fields["VmRSS"], "peak_rss_mib": fields["VmHWM"]}


def find(needle: str) -> int:
    """The process whose command line contains `needle`."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if needle.encode() in (entry / "cmdline").read_bytes():
                return int(entry.name)
    raise LookupError(f"no process with {needle!r} in its command line")
