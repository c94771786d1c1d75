"""The bench's two charts, written beside bench/results/<date>.json from what it holds:

- <date>-storm.png: the deadline storm's latency distribution, duban against bare, as the
  share of tasks told by each second after the instant (an empirical CDF of the storm's
  per-task `samples`);
- <date>-growth.png: the growth curve, milliseconds per task against the storm's task count
  and against the starts' concurrent starters, duban and bare.

matplotlib (the `bench` extra: `pip install -e '.[bench]'`, which `make bench` installs),
drawn on its Agg canvas, never a display. Labels are Chinese where a CJK font is installed
(fonts-wqy-zenhei, loaded by its file path), English otherwise, so no label is a row of
empty boxes. A chart whose figures are not in the file (a run without the scenario, an old
file without the storm's samples) is not drawn."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure

from bench.stats import ms_per_task

# CJK fonts as Debian installs them, the first present is used.
CJK_FONTS = (
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
)
SIZE = (8.0, 5.0)  # inches
DPI = 120  # 960 × 600 pixels
COLORS = {"duban": "#c0392b", "bare": "#2471a3"}
SIDES = ("duban", "bare")

LABELS = {
    "zh": {
        "duban": "督办",
        "bare": "对照：最简工作流",
        "storm_title": "截止风暴：{n} 项任务同一时刻到期",
        "storm_x": "截止时刻之后（秒）",
        "storm_y": "已告知的任务占比（%）",
        "storm_side": "{side}（中位 {p50:.1f} 秒，最慢 {max:.1f} 秒）",
        "growth_storm": "截止风暴：任务数增长",
        "growth_storm_x": "同一时刻到期的任务数",
        "growth_starts": "任务发起：并发增长",
        "growth_starts_x": "并发发起方数",
        "growth_y": "每项任务耗时（毫秒）",
    },
    "en": {
        "duban": "duban",
        "bare": "bare workflow",
        "storm_title": "Deadline storm: {n} tasks due at one instant",
        "storm_x": "seconds after the instant",
        "storm_y": "tasks told (%)",
        "storm_side": "{side} (p50 {p50:.1f} s, max {max:.1f} s)",
        "growth_storm": "Storm: more tasks",
        "growth_storm_x": "tasks due at one instant",
        "growth_starts": "Starts: more concurrency",
        "growth_starts_x": "concurrent starters",
        "growth_y": "ms per task",
    },
}


def cjk_font() -> Path | None:
    return next((p for p in CJK_FONTS if p.exists()), None)


def _style() -> tuple[list[str], dict[str, str]]:
    """The font families for the charts and the labels in their language."""
    from matplotlib import font_manager

    # The CJK font has one weight (500): matplotlib says so at every label otherwise.
    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
    font = cjk_font()
    if font is None:
        return ["DejaVu Sans"], LABELS["en"]
    font_manager.fontManager.addfont(str(font))
    name = font_manager.FontProperties(fname=font).get_name()
    return [name, "DejaVu Sans"], LABELS["zh"]


def _figure() -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=SIZE, dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _scenario(results: dict[str, Any], name: str) -> dict[str, Any] | None:
    """A scenario's figures, unless it failed or did not run."""
    scenario = results.get(name)
    return scenario if isinstance(scenario, dict) and "error" not in scenario else None


def storm_figure(results: dict[str, Any]) -> Figure | None:
    """The storm's per-task latency, duban and bare, as empirical CDFs; None without
    the samples."""
    storm = _scenario(results, "storm")
    if storm is None or not all("samples" in storm["storm"].get(s, {}) for s in SIDES):
        return None
    from matplotlib import rc_context
    from matplotlib.ticker import PercentFormatter

    family, text = _style()
    # axes.unicode_minus off: the CJK font has no U+2212, the ASCII minus reads the same
    with rc_context({"font.family": family, "axes.unicode_minus": False}):
        fig = _figure()
        ax = fig.add_subplot()
        for side in SIDES:
            figures = storm["storm"][side]
            label = text["storm_side"].format(side=text[side], **figures)
            ax.ecdf(figures["samples"], label=label, color=COLORS[side], linewidth=2)
        ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0))
        ax.set_xlim(left=0)
        ax.set_ylim(0, 1.02)
        ax.set_xlabel(text["storm_x"])
        ax.set_ylabel(text["storm_y"])
        ax.set_title(text["storm_title"].format(n=storm["storm"]["duban"]["tasks"]))
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right")
    return fig


def growth_figure(results: dict[str, Any]) -> Figure | None:
    """Milliseconds per task against the storm's size and the starts' starters, duban and
    bare; None without the growth scenario."""
    growth = _scenario(results, "growth")
    if growth is None or not (growth.get("storm") and growth.get("starts")):
        return None
    from matplotlib import rc_context

    family, text = _style()
    # axes.unicode_minus off: the CJK font has no U+2212, the ASCII minus reads the same
    with rc_context({"font.family": family, "axes.unicode_minus": False}):
        fig = _figure()
        left, right = fig.subplots(1, 2, sharey=False)
        panels = (
            (left, growth["storm"], "tasks", "growth_storm", "growth_storm_x"),
            (right, growth["starts"], "starters", "growth_starts", "growth_starts_x"),
        )
        for ax, points, x_key, title, x_label in panels:
            xs = [p[x_key] for p in points]
            for side in SIDES:
                ys = [ms_per_task(p, side) for p in points]
                ax.plot(xs, ys, marker="o", color=COLORS[side], linewidth=2, label=text[side])
            ax.set_xscale("log", base=2)
            ax.set_xticks(xs, [str(x) for x in xs])
            ax.minorticks_off()
            ax.set_ylim(bottom=0)
            ax.set_title(text[title])
            ax.set_xlabel(text[x_label])
            ax.set_ylabel(text["growth_y"])
            ax.grid(alpha=0.3)
            ax.legend()
    return fig


def write(results: dict[str, Any], directory: Path, stem: str) -> list[Path]:
    """Each chart the results hold, as <stem>-storm.png and <stem>-growth.png in
    `directory`; the paths written."""
    written = []
    for name, draw in (("storm", storm_figure), ("growth", growth_figure)):
        fig = draw(results)
        if fig is None:
            continue
        path = directory / f"{stem}-{name}.png"
        fig.savefig(path, dpi=DPI)
        written.append(path)
    return written


def write_beside(results_file: Path) -> Iterator[str]:
    """The charts of a results file, beside it; a line to print for each, or one saying
    why none was drawn."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        yield "charts: not drawn, matplotlib is missing (pip install -e '.[bench]')"
        return
    results = json.loads(results_file.read_text())
    paths = write(results, results_file.parent, results_file.stem)
    if not paths:
        yield "charts: none (neither the storm's samples nor the growth scenario in this file)"
    for path in paths:
        yield f"chart: {path}"
