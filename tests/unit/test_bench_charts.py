"""The bench's charts (bench/charts.py) drawn from a small results dict as the bench writes
it: each PNG there is, of the size asked, with a line per side where the figures put it;
a chart whose figures are missing is not drawn. Nothing here is timed."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("matplotlib", reason="the bench extra: pip install -e '.[bench]'")

import numpy as np  # matplotlib's own dependencies, as is PIL
from PIL import Image

from bench import charts
from bench.stats import summary

WIDTH, HEIGHT = int(charts.SIZE[0] * charts.DPI), int(charts.SIZE[1] * charts.DPI)


def _side(samples: list[float]) -> dict[str, Any]:
    return {
        "tasks": len(samples),
        **summary(samples),
        "samples": sorted(samples),
        "server_cpu_share": 0.5,
    }


def storm_results() -> dict[str, Any]:
    duban = [30.0 * i / 199 for i in range(200)]  # evenly over 30 s
    bare = [8.0 * i / 199 for i in range(200)]  # evenly over 8 s
    return {"storm": {"storm": {"duban": _side(duban), "bare": _side(bare)}}}


def _storm_point(tasks: int, duban_max: float, bare_max: float) -> dict[str, Any]:
    def side(m: float) -> dict[str, Any]:
        return {"tasks": tasks, "p50": m / 2, "p99": m, "max": m, "server_cpu_share": 0.9}

    return {"tasks": tasks, "duban": side(duban_max), "bare": side(bare_max)}


def _starts_point(scale: int, duban: float, bare: float) -> dict[str, Any]:
    def side(per_second: float) -> dict[str, Any]:
        return {"per_second": per_second, "server_cpu_share": 0.7}

    return {"scale": scale, "starters": 16 * scale, "duban": side(duban), "bare": side(bare)}


def growth_results() -> dict[str, Any]:
    return {
        "growth": {
            "seconds": 60.0,
            "storm": [
                _storm_point(25, 0.8, 0.2),
                _storm_point(100, 3.2, 0.8),
                _storm_point(400, 16.0, 4.0),
            ],
            "starts": [
                _starts_point(1, 25.0, 50.0),
                _starts_point(2, 20.0, 50.0),
                _starts_point(4, 10.0, 40.0),
            ],
        }
    }


def _pixels_of(path: Path, color: str, tolerance: int = 12) -> int:
    """How many pixels of the PNG are within `tolerance` of `color` on every channel."""
    want = np.array([int(color[i : i + 2], 16) for i in (1, 3, 5)])
    pixels = np.asarray(Image.open(path).convert("RGB"), dtype=int)
    return int((np.abs(pixels - want) <= tolerance).all(axis=2).sum())


def _texts(fig: Any) -> list[str]:
    out = []
    for ax in fig.axes:
        out += [ax.get_title(), ax.get_xlabel(), ax.get_ylabel()]
        out += [t.get_text() for t in ax.get_legend().get_texts()]
    return out


def test_the_storm_chart_draws_each_sides_distribution(tmp_path: Path) -> None:
    written = charts.write(storm_results(), tmp_path, "2026-01-02")

    path = tmp_path / "2026-01-02-storm.png"
    assert written == [path]
    assert Image.open(path).size == (WIDTH, HEIGHT)
    # no growth figures, no growth chart
    assert not (tmp_path / "2026-01-02-growth.png").exists()
    # each side's line is drawn along the whole curve, not only in the legend's key
    for side in charts.SIDES:
        assert _pixels_of(path, charts.COLORS[side]) > 400, side

    fig = charts.storm_figure(storm_results())
    assert fig is not None
    (ax,) = fig.axes
    lines = [line for line in ax.get_lines() if line.get_label() and line.get_label()[0] != "_"]
    assert len(lines) == 2
    # the CDF reaches every task: its last x is the side's slowest, its last y all of them
    ends = sorted(float(line.get_xdata()[-1]) for line in lines)
    assert ends == pytest.approx([8.0, 30.0])
    assert all(float(line.get_ydata()[-1]) == pytest.approx(1.0) for line in lines)


def test_the_growth_chart_draws_time_per_task_for_each_side(tmp_path: Path) -> None:
    written = charts.write(growth_results(), tmp_path, "2026-01-02")

    path = tmp_path / "2026-01-02-growth.png"
    assert written == [path]
    assert Image.open(path).size == (WIDTH, HEIGHT)
    assert not (tmp_path / "2026-01-02-storm.png").exists()
    for side in charts.SIDES:
        assert _pixels_of(path, charts.COLORS[side]) > 150, side

    fig = charts.growth_figure(growth_results())
    assert fig is not None
    storm_ax, starts_ax = fig.axes
    storm_lines, starts_lines = storm_ax.get_lines(), starts_ax.get_lines()
    assert len(storm_lines) == 2 and len(starts_lines) == 2
    duban_storm, bare_storm = storm_lines
    assert list(duban_storm.get_xdata()) == [25, 100, 400]
    # the last notice over the tasks: 16 s over 400 tasks is 40 ms each
    assert list(duban_storm.get_ydata()) == pytest.approx([32.0, 32.0, 40.0])
    assert list(bare_storm.get_ydata()) == pytest.approx([8.0, 8.0, 10.0])
    duban_starts, bare_starts = starts_lines
    assert list(duban_starts.get_xdata()) == [16, 32, 64]
    # 10 tasks a second is 100 ms each
    assert list(duban_starts.get_ydata()) == pytest.approx([40.0, 50.0, 100.0])
    assert list(bare_starts.get_ydata()) == pytest.approx([20.0, 20.0, 25.0])


def test_labels_are_chinese_where_a_cjk_font_is_installed() -> None:
    if charts.cjk_font() is None:
        pytest.skip("no CJK font here: the charts are labelled in English")
    for fig in (charts.storm_figure(storm_results()), charts.growth_figure(growth_results())):
        assert fig is not None
        for text in _texts(fig):
            assert text and not re.search(r"[A-Za-z]", text), text


def test_no_chart_without_its_figures(tmp_path: Path) -> None:
    old = storm_results()
    for side in charts.SIDES:
        del old["storm"]["storm"][side]["samples"]  # a file from before the samples
    old["growth"] = {"error": "TimeoutError: storm: every level-1 notice"}

    assert charts.write(old, tmp_path, "2026-01-02") == []
    assert list(tmp_path.iterdir()) == []


def test_write_beside_names_the_charts_of_a_results_file(tmp_path: Path) -> None:
    results = tmp_path / "2026-01-02.json"
    results.write_text(json.dumps({**storm_results(), **growth_results()}))

    lines = list(charts.write_beside(results))

    assert lines == [
        f"chart: {tmp_path / '2026-01-02-storm.png'}",
        f"chart: {tmp_path / '2026-01-02-growth.png'}",
    ]
