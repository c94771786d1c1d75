"""Scenario 9, workers (issue 17): what a second worker process buys. The storm (scenario 2,
N tasks) and the starts (scenario 1) with one worker process and with two on the one task
queue, duban's `python -m worker` and the bare `python -m bench.bare_worker` alike
(bench.fleet), in the same run. Here both processes share the machine's cores and the dev
server's one SQLite file; on a cluster each would have cores of its own, and the server's
persistence is what the second worker cannot multiply.

One process here is not the storm and starts scenarios' figure: those run the worker in the
bench's own process, this one as production runs it."""

from __future__ import annotations

from typing import Any

from bench import starts, storm
from bench.fleet import Processes
from bench.stack import Stack

COUNTS = (1, 2)


async def run(stack: Stack, n: int, seconds: float) -> dict[str, Any]:
    out: dict[str, Any] = {"tasks": n, "seconds": seconds, "runs": []}
    for k in COUNTS:
        fleet = Processes(k)
        print(f"bench: workers: {k} process(es): storm, starts ...", flush=True)
        out["runs"].append(
            {
                "processes": k,
                "storm": {
                    "duban": await storm.duban_side(stack, n, fleet=fleet),
                    "bare": await storm.bare_side(stack, n, fleet=fleet),
                },
                "starts": {
                    "duban": await starts.duban_side(stack, seconds, fleet=fleet),
                    "bare": await starts.bare_side(stack, seconds, fleet=fleet),
                },
            }
        )
    return out
