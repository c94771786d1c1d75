"""`python -m bench.faults [--n N] [--only a,b]`: the fault suite. Each scenario on a stack
of its own (its own dev server, PostgreSQL, receivers and worker process): N tasks climb a
seconds-scale ladder while the fault strikes; then the table of what it cost, against the
targets of issue 14, and bench/results/faults-<date>.json. Minutes per scenario; not a test."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import report as bench_report
from bench.faults import report, run

DEFAULT = (
    "worker-kill",
    "temporal-kill",
    "postgres-down",
    "webhook-503",
    "channel-outage",
    "worker-sigterm",
)


async def main(n: int, only: list[str], keep: Path | None) -> dict[str, Any]:
    results: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": bench_report.command(),
        "n": n,
        "machine": bench_report.machine(),
        "scenarios": {},
    }
    scenarios = run.faults()
    for name in only:
        t0 = time.monotonic()
        print(f"faults: {name} ...", flush=True)
        where = keep / name if keep else None
        try:
            figures = await run.run(scenarios[name], n, where, say=lambda s: print(s, flush=True))
        except Exception as err:  # one scenario failing must not lose the others
            figures = {"fault": scenarios[name].what, "error": f"{type(err).__name__}: {err}"}
        figures["elapsed_s"] = round(time.monotonic() - t0, 1)
        results["scenarios"][name] = figures
        print(report.line(name, figures), flush=True)
        report.write(results)
    return results


def cli() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.faults", description=__doc__)
    parser.add_argument("--n", type=int, default=300, help="tasks per scenario (300)")
    parser.add_argument(
        "--only", default=",".join(DEFAULT), help=f"scenarios, of {', '.join(DEFAULT)}"
    )
    parser.add_argument("--keep", type=Path, help="keep each stack's files under this folder")
    args = parser.parse_args()
    only = [s for s in args.only.split(",") if s]
    unknown = set(only) - set(DEFAULT)
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    logging.basicConfig(level=logging.WARNING)
    # The suite's own pool reconnects through the PostgreSQL outage it causes: not news.
    logging.getLogger("asyncpg").setLevel(logging.CRITICAL)
    results = asyncio.run(main(args.n, only, args.keep))
    m = results["machine"]
    print(f"\n{args.n} tasks a scenario; {m['cpus']} cores, {m['cpu']}, Python {m['python']}\n")
    print(report.markdown(results))
    print(f"\nwritten to {report.write(results)}")
    print(json.dumps({k: v.get("error") for k, v in results["scenarios"].items() if "error" in v}))


cli()
