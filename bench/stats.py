"""Percentiles without numpy: nearest rank, as latency reports usually mean them; and the
growth scenario's time per task."""

from __future__ import annotations

import math
from typing import Any


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def summary(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "p50": percentile(values, 50),
        "p99": percentile(values, 99),
        "max": max(values) if values else float("nan"),
    }


def ms_per_task(point: dict[str, Any], side: str) -> float:
    """Milliseconds per task of one side of a growth point: a storm's last figure after the
    instant over its tasks, or a starts window over the tasks recorded in it."""
    figures = point[side]
    if "per_second" in figures:
        return 1000.0 / float(figures["per_second"]) if figures["per_second"] else float("nan")
    return 1000.0 * float(figures["max"]) / int(point["tasks"])
