"""Processes as Linux shows them in /proc: resident memory, CPU time, and finding our dev
server."""

from __future__ import annotations

import contextlib
import os
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


def cpu_seconds(pid: int) -> float:
    """User and system CPU time the process has used so far (utime + stime)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat.rsplit(")", 1)[1].split()  # after the command name, which may hold spaces
    ticks = int(fields[11]) + int(fields[12])  # fields 14 and 15 of proc(5)
    return ticks / os.sysconf("SC_CLK_TCK")


class Cpu:
    """CPU time each process of the scenario spends from `start` on, per request."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.at: dict[str, float] = {}

    def start(self) -> None:
        self.at = {name: cpu_seconds(pid) for name, pid in self.pids.items()}

    def per_request_ms(self, requests: int) -> dict[str, float]:
        return {
            name: round((cpu_seconds(pid) - self.at[name]) * 1000 / requests, 2)
            for name, pid in self.pids.items()
        }
