// flowtally's pages: progressive enhancement only (every page works without this file).
// - The period controls of the overview show the fields of the chosen period.
// - Figures with data-traffic draw the traffic API's series with uPlot: average and peak rates in
//   and out, the 95th percentile lines and the commit rate. Drag to zoom, double-click to reset.
// No inline script or style: the Content-Security-Policy allows neither.
(() => {
  const SI = ["", "k", "M", "G", "T", "P"];
  function rate(v) {
    if (v === null || v === undefined) return "–";
    let x = Math.abs(v);
    let i = 0;
    while (x >= 999.5 && i < SI.length - 1) {
      x /= 1000;
      i += 1;
    }
    const digits = x >= 100 || i === 0 ? 0 : x >= 10 ? 1 : 2;
    return `${v < 0 ? "-" : ""}${x.toFixed(digits)} ${SI[i]}bit/s`;
  }

  function periodFields(root) {
    for (const select of root.querySelectorAll("select[data-period]")) {
      const form = select.form;
      const show = () => {
        for (const el of form.querySelectorAll("[data-for-period]")) {
          el.hidden = el.getAttribute("data-for-period") !== select.value;
        }
      };
      if (!select.dataset.bound) {
        select.addEventListener("change", show);
        select.dataset.bound = "1";
      }
      show();
    }
  }

  const COLORS = {
    in: "#1f77b4",
    out: "#2ca02c",
    p95: "#d62728",
    commit: "#111111",
  };

  function seriesOf(json, commit) {
    const x = [];
    const bpsIn = [];
    const bpsOut = [];
    const peakIn = [];
    const peakOut = [];
    for (const p of json.points) {
      x.push(Date.parse(p.time) / 1000);
      bpsIn.push(p.bpsIn);
      bpsOut.push(p.bpsOut);
      peakIn.push(p.peakBpsIn);
      peakOut.push(p.peakBpsOut);
    }
    const flat = (v) => x.map(() => v);
    const data = [x, bpsIn, bpsOut, peakIn, peakOut, flat(json.p95BpsIn), flat(json.p95BpsOut)];
    const series = [
      {},
      { label: "In (average)", stroke: COLORS.in, width: 2, value: (_u, v) => rate(v) },
      { label: "Out (average)", stroke: COLORS.out, width: 2, value: (_u, v) => rate(v) },
      { label: "In (peak)", stroke: COLORS.in, width: 1, dash: [4, 3], value: (_u, v) => rate(v) },
      {
        label: "Out (peak)",
        stroke: COLORS.out,
        width: 1,
        dash: [4, 3],
        value: (_u, v) => rate(v),
      },
      { label: "In 95th pct", stroke: COLORS.p95, width: 1, value: (_u, v) => rate(v) },
      {
        label: "Out 95th pct",
        stroke: COLORS.p95,
        width: 1,
        dash: [8, 4],
        value: (_u, v) => rate(v),
      },
    ];
    if (commit !== undefined) {
      data.push(flat(commit));
      series.push({
        label: "Commit rate",
        stroke: COLORS.commit,
        width: 1,
        dash: [2, 2],
        value: (_u, v) => rate(v),
      });
    }
    return { data, series };
  }

  function summary(json, commit) {
    let peakIn = 0;
    let peakOut = 0;
    for (const p of json.points) {
      peakIn = Math.max(peakIn, p.peakBpsIn);
      peakOut = Math.max(peakOut, p.peakBpsOut);
    }
    const parts = [
      `${json.points.length} points of ${json.step}`,
      `95th percentile in ${rate(json.p95BpsIn)}, out ${rate(json.p95BpsOut)}`,
      `peak in ${rate(peakIn)}, out ${rate(peakOut)}`,
    ];
    if (commit !== undefined) parts.push(`commit rate ${rate(commit)}`);
    return `${parts.join(" · ")}. Drag across the graph to zoom; double-click to go back.`;
  }

  function ms(v) {
    if (v === null || v === undefined) return "–";
    return v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${v.toFixed(v < 10 ? 2 : 0)} ms`;
  }

  function responseSeriesOf(json, threshold) {
    const x = json.points.map((p) => Date.parse(p.time) / 1000);
    const pick = (name) => json.points.map((p) => p[name]);
    const data = [
      x,
      pick("meanNetworkDelayMs"),
      pick("meanServerDelayMs"),
      pick("meanTotalDelayMs"),
      pick("totalDelayP95Ms"),
      x.map(() => threshold),
    ];
    const line = (label, stroke, dash) => ({
      label,
      stroke,
      width: dash === undefined ? 2 : 1,
      ...(dash === undefined ? {} : { dash }),
      value: (_u, v) => ms(v),
    });
    const series = [
      {},
      line("Network delay", "#1f77b4"),
      line("Server delay", "#ff7f0e"),
      line("Total delay", "#2ca02c"),
      line("Total 95th pct", "#9467bd", [4, 3]),
      line("Threshold", COLORS.p95, [2, 2]),
    ];
    return { data, series, axis: ms };
  }

  function responseSummary(json, threshold) {
    return `${json.points.length} points of ${json.step} · ${json.transactions} transactions, mean total delay ${ms(json.meanTotalDelayMs)}, 95th percentile ${ms(json.totalDelayP95Ms)} · threshold ${ms(threshold)}.`;
  }

  function width(el) {
    return Math.max(280, Math.floor(el.getBoundingClientRect().width));
  }

  async function draw(figure) {
    if (figure.dataset.drawn) return;
    figure.dataset.drawn = "loading";
    const note = figure.querySelector(".chart-summary");
    const target = figure.querySelector(".plot");
    try {
      const traffic = figure.dataset.traffic !== undefined;
      const url = traffic ? figure.dataset.traffic : figure.dataset.responseTimes;
      const res = await fetch(url, {
        credentials: "same-origin",
        headers: { accept: "application/json" },
      });
      const json = await res.json();
      if (!res.ok) throw new Error(json?.error?.message ?? `HTTP ${res.status}`);
      const commit =
        figure.dataset.commit === undefined ? undefined : Number(figure.dataset.commit);
      const threshold = Number(figure.dataset.threshold);
      const { data, series, axis } = traffic
        ? { ...seriesOf(json, commit), axis: rate }
        : responseSeriesOf(json, threshold);
      const plot = new window.uPlot(
        {
          width: width(target),
          height: 260,
          series,
          axes: [{}, { values: (_u, vals) => vals.map(axis), size: 90 }],
          scales: { x: { time: true } },
          cursor: { drag: { x: true, y: false } },
        },
        data,
        target,
      );
      figure.flowtally = { json, data, plot };
      figure.dataset.drawn = "yes";
      figure.dataset.points = String(json.points.length);
      note.textContent = traffic ? summary(json, commit) : responseSummary(json, threshold);
      new ResizeObserver(() => plot.setSize({ width: width(target), height: 260 })).observe(figure);
    } catch (e) {
      figure.dataset.drawn = "failed";
      note.textContent = `The graph could not be drawn: ${e.message}`;
    }
  }

  function charts(root) {
    if (window.uPlot === undefined) return;
    for (const f of root.querySelectorAll(
      "figure.chart[data-traffic], figure.chart[data-response-times]",
    )) {
      void draw(f);
    }
  }

  function enhance(root) {
    periodFields(root);
    charts(root);
  }

  document.addEventListener("DOMContentLoaded", () => enhance(document));
  document.addEventListener("htmx:afterSettle", (e) => enhance(e.target));
})();
