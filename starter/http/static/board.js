/* The board's charts (starter/http/templates/board.html), drawn with Chart.js from the
   page's JSON block. No inline script: the pages' CSP allows scripts from this site only.
   Every figure is also in the table beside its chart. */
(function () {
  "use strict";
  var COLOURS = {
    green: "#0d8a3f", yellow: "#e0a800", red: "#c4261d", grey: "#9aa0a8", closed: "#1f5fd1",
    own: "#c4261d", waited: "#9aa0a8", rate: "#1f5fd1", ladder: "#b3261e"
  };

  function ready(fn) {
    if (document.readyState !== "loading") { fn(); } else { document.addEventListener("DOMContentLoaded", fn); }
  }

  function bars(box, labels, datasets, options) {
    var horizontal = labels.length > 4;
    if (horizontal) { box.style.height = Math.max(180, 60 + 30 * labels.length) + "px"; }
    var stacked = !!options.stacked;
    var valueAxis = { stacked: stacked, beginAtZero: true, ticks: { precision: 0 } };
    if (options.percent) { valueAxis.max = 100; valueAxis.ticks = { callback: function (v) { return v + "%"; } }; }
    var scales = horizontal ? { x: valueAxis, y: { stacked: stacked } } : { x: { stacked: stacked }, y: valueAxis };
    return new window.Chart(box.querySelector("canvas"), {
      type: "bar",
      data: { labels: labels, datasets: datasets },
      options: {
        indexAxis: horizontal ? "y" : "x",
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        scales: scales,
        plugins: { legend: { display: datasets.length > 1, position: "bottom" } }
      }
    });
  }

  ready(function () {
    var block = document.getElementById("board-data");
    if (!block || !window.Chart) { return; }
    var data = JSON.parse(block.textContent);
    window.Chart.defaults.font.family =
      'system-ui, -apple-system, "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", "WenQuanYi Zen Hei", sans-serif';
    window.Chart.defaults.font.size = 13;
    var drawn = 0;
    document.querySelectorAll("[data-chart]").forEach(function (box) {
      var kind = box.getAttribute("data-chart");
      if (kind === "lights") {
        bars(box, data.lights.units, data.lights.series.map(function (s) {
          return { label: s.label, data: s.values, backgroundColor: COLOURS[s.key] };
        }), { stacked: true });
      } else if (kind === "ladder") {
        bars(box, data.ladder.labels, [{ label: "任务数", data: data.ladder.values, backgroundColor: COLOURS.ladder }], {});
      } else if (kind === "rate") {
        bars(box, data.rate.units, [{ label: "按期办结率（%）", data: data.rate.values, backgroundColor: COLOURS.rate }], { percent: true });
      } else if (kind === "late") {
        bars(box, data.late.units, [
          { label: "本单位逾期", data: data.late.own, backgroundColor: COLOURS.own },
          { label: "等待答复", data: data.late.waited, backgroundColor: COLOURS.waited }
        ], { stacked: true });
      } else { return; }
      drawn += 1;
    });
    document.body.setAttribute("data-charts", String(drawn));
  });
}());
