"""One table for the five scenarios: duban's figure, the bare figure, their ratio and the
target; and the same as JSON in bench/results/<date>.json."""

from __future__ import annotations

import json
import math
import os
import platform
import sys
from datetime import date
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"

Row = tuple[str, str, str, str, str, str]


def machine() -> dict[str, Any]:
    cpu = "unknown"
    with open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as info:
        kib = int(next(line for line in info if line.startswith("MemTotal")).split()[1])
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "ram_gib": round(kib / 1024 / 1024, 1),
        "python": platform.python_version(),
        "os": platform.platform(),
    }


def _num(x: float, unit: str = "") -> str:
    if isinstance(x, float) and math.isnan(x):
        return "—"
    if abs(x) >= 100:
        return f"{x:,.0f}{unit}"
    return f"{x:.2f}{unit}" if abs(x) < 10 else f"{x:.1f}{unit}"


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}×" if b else "—"


def _met(ok: bool) -> str:
    return "met" if ok else "MISSED"


def rows(results: dict[str, Any]) -> list[Row]:
    failed = {k: v for k, v in results.items() if isinstance(v, dict) and "error" in v}
    r = {k: v for k, v in results.items() if k not in failed}
    out: list[Row] = [(name, "FAILED", v["error"][:80], "", "", "") for name, v in failed.items()]
    if "starts" in r:
        s = r["starts"]
        d, b = s["duban"]["per_second"], s["bare"]["per_second"]
        out.append(
            (
                "1 starts",
                f"tasks/s over {s['seconds']:.0f}s",
                _num(d),
                _num(b),
                _ratio(d, b),
                f"≥ 0.5× bare: {_met(d >= 0.5 * b)}",
            )
        )
    if "storm" in r:
        for kind, label in (("storm", "storm"), ("steady", "steady")):
            s = r["storm"][kind]
            d, b = s["duban"], s["bare"]
            met = d["max"] <= 30 if kind == "storm" else d["p99"] <= 2
            target = f"{'max ≤ 30 s' if kind == 'storm' else 'p99 ≤ 2 s'}: {_met(met)}"
            for q in ("p50", "p99", "max"):
                out.append(
                    (
                        f"2 {label} ({d['tasks']} tasks)",
                        f"{q} s after deadline",
                        _num(d[q]),
                        _num(b[q]),
                        _ratio(d[q], b[q]),
                        target if q == "max" else "",
                    )
                )
    if "signoff" in r:
        s = r["signoff"]
        d, b = s["duban"], s["bare"]
        for q in ("p50", "p99"):
            target = f"p99 ≤ 1.5× bare: {_met(d['p99'] <= 1.5 * b['p99'])}" if q == "p99" else ""
            out.append(
                (
                    f"3 sign-off ({s['senders']} senders)",
                    f"{q} ms",
                    _num(d[q] * 1000),
                    _num(b[q] * 1000),
                    _ratio(d[q], b[q]),
                    target,
                )
            )
    if "open" in r:
        s = r["open"]
        d, b = s["duban"], s["bare"]
        n = d["tasks"]
        out += [
            (
                f"4 open ({n} tasks)",
                "worker RSS MiB",
                _num(d["worker"]["rss_mib"]),
                _num(b["worker"]["rss_mib"]),
                _ratio(d["worker"]["rss_mib"], b["worker"]["rss_mib"]),
                f"< 1 GiB: {_met(d['worker']['rss_mib'] < 1024)}",
            ),
            (
                f"4 open ({n} tasks)",
                "worker peak RSS MiB",
                _num(d["worker"]["peak_rss_mib"]),
                _num(b["worker"]["peak_rss_mib"]),
                _ratio(d["worker"]["peak_rss_mib"], b["worker"]["peak_rss_mib"]),
                "",
            ),
            (
                f"4 open ({n} tasks)",
                "server RSS MiB",
                _num(d["server"]["rss_mib"]),
                _num(b["server"]["rss_mib"]),
                _ratio(d["server"]["rss_mib"], b["server"]["rss_mib"]),
                "",
            ),
            (
                f"4 open ({n} tasks)",
                "PostgreSQL bytes/task",
                _num(d["pg_bytes_per_task"]),
                _num(b["pg_bytes_per_task"]),
                _ratio(d["pg_bytes_per_task"], b["pg_bytes_per_task"]),
                "",
            ),
            (
                f"4 open ({n} tasks)",
                "Temporal DB bytes/task",
                _num(d["temporal_db_bytes_per_task"]),
                _num(b["temporal_db_bytes_per_task"]),
                _ratio(d["temporal_db_bytes_per_task"], b["temporal_db_bytes_per_task"]),
                "",
            ),
            (
                f"4 open ({n} tasks)",
                "history events/task",
                str(d["events_per_task"]),
                str(b["events_per_task"]),
                _ratio(d["events_per_task"], b["events_per_task"]),
                "",
            ),
            (
                f"4 open ({n} tasks)",
                "database size MiB (PG / Temporal)",
                f"{_num(d['pg_size_mib'])} / {_num(d['temporal_db_mib'])}",
                "",
                "",
                "",
            ),
        ]
    if "history" in r:
        s = r["history"]
        b = s["bare"]
        for key, label in (
            ("life", "a default-policy life"),
            ("year_weekly", "a year, weekly reports"),
            ("year_daily", "a year, weekday reports"),
        ):
            d = s[key]
            out.append(
                (
                    f"5 history: {label}",
                    f"events ({d['runs']} run(s), max {d['max_run_events']}/run)",
                    str(d["events"]),
                    str(b["events"]),
                    _ratio(d["events"], b["events"]),
                    f"≤ {s['limit']}/run: {_met(d['max_run_events'] <= s['limit'])}",
                )
            )
            out.append(
                (
                    f"5 history: {label}",
                    "bytes",
                    _num(float(d["bytes"])),
                    _num(float(b["bytes"])),
                    _ratio(d["bytes"], b["bytes"]),
                    "",
                )
            )
    return out


HEADER: Row = ("scenario", "figure", "duban", "bare", "ratio", "target")


def markdown(r: dict[str, Any]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + " --- |" * len(HEADER)]
    lines += ["| " + " | ".join(row) + " |" for row in rows(r)]
    return "\n".join(lines)


def write(r: dict[str, Any]) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{date.today().isoformat()}.json"
    path.write_text(json.dumps(r, indent=2, ensure_ascii=False, default=str) + "\n")
    return path


def command() -> str:
    return " ".join(["python -m bench", *sys.argv[1:]])
