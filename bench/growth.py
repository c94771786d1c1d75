"""Scenario 8, growth (issue 17): how the cost per task grows with the load, duban and bare
in the same run. The storm (scenario 2) at N/4, N and 4N tasks (250, 1,000 and 4,000 at
the default N), and the starts (scenario 1) with 1×, 2× and 4× its starters and backlog
(16, 32, 64 concurrent starters). Time per task: the storm's last figure after the instant
over its tasks; the starts' window over the tasks recorded in it. Flat means it scales;
where it rises is where the machine's ceiling is (the dev server's one SQLite writer on
this stack: `server_cpu_share` is its CPU time over the same wall time).

The same code as scenarios 1 and 2 (bench.storm, bench.starts), with one worker in the
bench's process as they have."""

from __future__ import annotations

from typing import Any

from bench import starts, storm
from bench.stack import Stack

SIZES = (0.25, 1.0, 4.0)
SCALES = (1, 2, 4)


def storm_sizes(n: int) -> list[int]:
    return [max(10, round(n * f)) for f in SIZES]


async def run(stack: Stack, n: int, seconds: float) -> dict[str, Any]:
    out: dict[str, Any] = {"seconds": seconds, "storm": [], "starts": []}
    for tasks in storm_sizes(n):
        print(f"bench: growth: storm of {tasks} ...", flush=True)
        out["storm"].append(
            {
                "tasks": tasks,
                "duban": await storm.duban_side(stack, tasks),
                "bare": await storm.bare_side(stack, tasks),
            }
        )
    for scale in SCALES:
        print(f"bench: growth: starts with {starts.LANES * scale} starters ...", flush=True)
        out["starts"].append(
            {
                "scale": scale,
                "starters": starts.LANES * scale,
                "duban": await starts.duban_side(stack, seconds, scale=scale),
                "bare": await starts.bare_side(stack, seconds, scale=scale),
            }
        )
    return out
