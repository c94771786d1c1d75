"""The fault suite's table, with the targets of issue 14, and its JSON in bench/results/."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench import report as bench_report

LOG_LIMIT = 1024 * 1024  # the worker's log during a 60 s PostgreSQL outage: under 1 MB

HEADER = (
    "| scenario | lost | stuck | ledger mismatches | notices expected / delivered / missing "
    "| duplicates: dedup receiver / robot (flagged) | recovery s | largest delay s "
    "| backlog after the fault (out of order) | targets |"
)
# Where a channel comes back and its drain sends the backlog (activities.drain), in the
# order asked: no notice of it arrives before an older one.
DRAINED = ("webhook-503", "channel-outage")


def misses(name: str, f: dict[str, Any]) -> list[str]:
    """Which of issue 14's targets the scenario missed."""
    if "error" in f:
        return [f"failed: {f['error']}"]
    missed = [
        what
        for what, bad in (
            ("lost", f["lost"]),
            ("stuck", f["stuck"]),
            ("ledger mismatches", f["ledger_mismatches"]),
            ("notices missing", f["notices_missing"]),
            ("duplicates at the deduplicating receiver", f["dedup_duplicates"]),
            ("robot duplicates not flagged possible_duplicate", f["robot_duplicates_unflagged"]),
        )
        if bad
    ]
    if name in DRAINED and f.get("backlog_out_of_order"):
        missed.append(f"{f['backlog_out_of_order']} of the backlog out of order")
    if not f.get("settled", True):
        missed.append("not settled in time")
    if name == "postgres-down":
        if f["log_bytes_during"] >= LOG_LIMIT:
            missed.append(f"log {f['log_bytes_during']:,} bytes during the outage")
        if "PostgreSQL" not in f["log_names"]:
            missed.append("the log does not name PostgreSQL")
    return missed


def line(name: str, f: dict[str, Any]) -> str:
    if "error" in f:
        return f"| {name}: {f['fault']} | FAILED: {f['error'][:120]} |"
    missed = misses(name, f)
    extra = ""
    if name == "postgres-down":
        extra = f"; log during it {f['log_bytes_during']:,} B, {f['log_lines_during']} lines"
    flagged = f["robot_duplicates"] - f["robot_duplicates_unflagged"]
    return (
        f"| {f['fault']} | {f['lost']} | {f['stuck']} | {f['ledger_mismatches']} "
        f"| {f['notices_expected']} / {f['notices_delivered']} / {f['notices_missing']} "
        f"| {f['dedup_duplicates']} / {f['robot_duplicates']} ({flagged}) "
        f"| {f['recovery_s']} | {f['largest_delay_s']} "
        f"| {f.get('backlog_after_fault', 0)} ({f.get('backlog_out_of_order', 0)}) "
        f"| {'met' if not missed else 'MISSED: ' + ', '.join(missed)}{extra} |"
    )


def markdown(results: dict[str, Any]) -> str:
    rows = [HEADER, "|" + " --- |" * 10]
    rows += [line(name, f) for name, f in results["scenarios"].items()]
    return "\n".join(rows)


def write(results: dict[str, Any]) -> Path:
    path = bench_report.dated(results["when"], prefix="faults-")
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(results, ensure_ascii=False, indent=1, default=str) + "\n")
    return path
