"""`python -m bench [--n N] [--only starts,storm,...]`: every scenario, duban and bare side
by side on one stack; prints the table and writes bench/results/<date>.json, and beside it
the charts of the storm's latencies and of the growth curve (<date>-storm.png,
<date>-growth.png; bench/charts.py, with the `bench` extra).

--n scales the task counts: the storm's N tasks (1,000 by default, as issue 6 asks), the
steady state's N/10, sign-off's 100 senders with N/2 receipts a side, 3×N open tasks
(three times the worker's cache; --open-tasks 50000 for issue 17's size, which took 33
minutes for duban and 20 for bare on 2 cores), and the starts' minute (N/1000 of it, at
least 10 s).

signoff-http measures sign-off through `duban serve`, the CLI's client call and the bare
update in one run; `--only signoff` measures the last two alone (not run by default:
signoff-http has them). board seeds 10,000 tasks' rows into the ledger (--board-tasks) and
times GET /board and the assessment workbook through `duban serve`.

growth runs the storm at N/4, N and 4N tasks and the starts with 1×, 2× and 4× the
starters, and prints the time per task of each; workers runs the storm (N) and the starts
with one worker process and with two on one task queue."""

from __future__ import annotations

import argparse
import asyncio
import logging
import time
from datetime import UTC, datetime
from typing import Any

from bench import (
    board,
    growth,
    history,
    open_tasks,
    report,
    signoff,
    signoff_http,
    starts,
    storm,
    workers,
)
from bench import charts as charts_writer
from bench import codec as codec_scenario
from bench.stack import Stack, bench_stack

SCENARIOS = report.SCENARIOS
DEFAULT = (
    "starts",
    "storm",
    "signoff-http",
    "open",
    "history",
    "board",
    "codec",
    "growth",
    "workers",
)


async def _scenario(
    stack: Stack, name: str, n: int, open_n: int, board_n: int = 10_000
) -> dict[str, Any]:
    if name == "starts":
        return await starts.run(stack, starts.window(n))
    if name == "storm":
        return await storm.run(stack, n)
    if name == "signoff":
        return await signoff.run(stack, n)
    if name == "signoff-http":
        return await signoff_http.run(stack, n)
    if name == "codec":
        return await codec_scenario.run(stack, n)
    if name == "open":
        return await open_tasks.run(stack, open_n)
    if name == "board":
        return await board.run(stack, board_n)
    if name == "growth":
        return await growth.run(stack, n, starts.window(n))
    if name == "workers":
        return await workers.run(stack, n, starts.window(n))
    return await history.run(stack)


async def main(n: int, open_n: int, only: list[str], board_n: int = 10_000) -> dict[str, Any]:
    results: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": report.command(),
        "n": n,
        "open_tasks": open_n,
        "machine": report.machine(),
    }
    async with bench_stack() as stack:
        for name in only:
            t0 = time.monotonic()
            print(f"bench: {name} ...", flush=True)
            try:
                results[name] = await _scenario(stack, name, n, open_n, board_n)
            except Exception as err:  # one scenario failing must not lose the others
                results[name] = {"error": f"{type(err).__name__}: {err}"}
            results[name]["elapsed_s"] = round(time.monotonic() - t0, 1)
            print(f"bench: {name} done in {results[name]['elapsed_s']}s", flush=True)
            report.write(results)  # what is done so far survives a later failure
    return results


def cli() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--n", type=int, default=1000, help="the storm's task count (1000)")
    parser.add_argument(
        "--only",
        default=",".join(DEFAULT),
        help=f"scenarios to run, of {', '.join(SCENARIOS)} (default {','.join(DEFAULT)})",
    )
    parser.add_argument(
        "--open-tasks",
        type=int,
        default=None,
        help="open tasks for scenario 4 (3×N; 50,000 took 54 min, both sides, on 2 cores)",
    )
    parser.add_argument(
        "--board-tasks",
        type=int,
        default=10_000,
        help="tasks seeded into the ledger for the board (10,000, as issue 15 asks)",
    )
    args = parser.parse_args()
    only = [s for s in args.only.split(",") if s]
    unknown = set(only) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    # The worker's own logs would drown the table: warnings and up only.
    logging.basicConfig(level=logging.WARNING)
    open_n = args.open_tasks or 3 * args.n
    results = asyncio.run(main(args.n, open_n, only, args.board_tasks))
    path = report.write(results)
    m = results["machine"]
    print(f"\n{m['cpus']} cores, {m['cpu']}, {m['ram_gib']} GiB, Python {m['python']}")
    print(report.markdown(results))
    print(f"\nwritten to {path}")
    for line in charts_writer.write_beside(path):
        print(line)


cli()
