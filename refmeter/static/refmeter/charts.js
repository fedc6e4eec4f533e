/* Charts drawn with the vendored uPlot, from data the page carries in
   <script type="application/json"> blocks; labels come from data-* attributes so that
   they are translated in the template. Loaded after uPlot on the pages that have a chart
   (htmx runs it again after a boosted navigation, in order). */
(function () {
  "use strict";

  function readJson(id) {
    const element = document.getElementById(id);
    return element ? JSON.parse(element.textContent) : null;
  }

  function width(element, most) {
    return Math.min(most, element.clientWidth - 20);
  }

  function meterChart() {
    const element = document.getElementById("meter-chart");
    const data = readJson("chart-data");
    if (!element || !data || element.dataset.drawn) return;
    element.dataset.drawn = "1";
    const xs = data.days.map((d) => Date.parse(d + "T00:00:00+08:00") / 1000);
    const marks = data.marks.map((m) => [Date.parse(m.since + "T00:00:00+08:00") / 1000, m.label]);
    const markPlugin = {hooks: {draw: [(u) => {
      const ctx = u.ctx;
      ctx.save();
      ctx.strokeStyle = "#b3261e";
      ctx.lineWidth = 2;
      marks.forEach(([x, label], index) => {
        const px = u.valToPos(x, "x", true);
        if (px < u.bbox.left || px > u.bbox.left + u.bbox.width) return;
        ctx.beginPath();
        ctx.moveTo(px, u.bbox.top);
        ctx.lineTo(px, u.bbox.top + u.bbox.height);
        ctx.stroke();
        ctx.fillStyle = "#b3261e";
        ctx.font = "12px sans-serif";
        ctx.fillText(label, px + 4, u.bbox.top + 14 + 14 * index);
      });
      ctx.restore();
    }]}};
    new uPlot({
      width: width(element, 1100),
      height: 320,
      plugins: [markPlugin],
      series: [{label: element.dataset.timeLabel}, {label: element.dataset.readingLabel, stroke: "#0b6e4f", scale: "reading"},
               {label: element.dataset.energyLabel, stroke: "#c98a00", scale: "energy"}],
      axes: [{}, {scale: "reading"}, {scale: "energy", side: 1, grid: {show: false}}],
    }, [xs, data.forward, data.energy], element);
  }

  function areaChart() {
    const element = document.getElementById("area-chart");
    const rows = readJson("history");
    if (!element || !rows || element.dataset.drawn) return;
    element.dataset.drawn = "1";
    const xs = rows.map((r) => Date.parse(r.month + "-01T00:00:00+08:00") / 1000);
    new uPlot({
      width: width(element, 1000),
      height: 300,
      series: [{label: element.dataset.timeLabel}, {label: element.dataset.beforeLabel, stroke: "#b3261e"},
               {label: element.dataset.afterLabel, stroke: "#0b6e4f"}],
    }, [xs, rows.map((r) => r.before), rows.map((r) => r.after)], element);

    const body = document.getElementById("history-rows");
    if (!body) return;
    body.replaceChildren(...rows.map((r) => {
      const line = document.createElement("tr");
      [[r.month, ""], [r.virtual, "num"], [r.before ?? "—", ""], [r.after ?? "—", ""]].forEach(([text, css]) => {
        const cell = document.createElement("td");
        if (css) cell.className = css;
        cell.textContent = text;
        line.appendChild(cell);
      });
      return line;
    }));
  }

  // The dashboard's twelve-month trends: one line chart per trend, its figures in the
  // table under it (the template writes the table, so it reads without the script).
  const PALETTE = ["#1f5f8b", "#c98a00", "#0b6e4f", "#b3261e", "#6a4c93", "#2a9d8f", "#8d6e63", "#e76f51", "#546e7a"];

  function trendCharts() {
    const data = readJson("trends-data");
    if (!data) return;
    const xs = data.months.map((m) => Date.parse(m + "-01T00:00:00+08:00") / 1000);
    data.trends.forEach((trend) => {
      const element = document.querySelector(`.trend-chart[data-trend="${trend.key}"]`);
      if (!element || element.dataset.drawn) return;
      element.dataset.drawn = "1";
      new uPlot({
        width: width(element.parentElement, 1100),
        height: 220,
        series: [{label: element.dataset.xLabel || ""}, ...trend.series.map((s, i) => ({label: s.label, stroke: PALETTE[i % PALETTE.length], spanGaps: false}))],
        axes: [{values: (u, ticks) => ticks.map((t) => new Date(t * 1000).toISOString().slice(0, 7))}, {}],
      }, [xs, ...trend.series.map((s) => s.values)], element);
    });
  }

  meterChart();
  areaChart();
  trendCharts();
})();
