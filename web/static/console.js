// flowtally's pages: progressive enhancement only (every page works without this file).
// - The period controls of the overview show the fields of the chosen period.
// - Figures with data-traffic draw the traffic API's series with uPlot: average and peak rates in
//   and out, the 95th percentile lines and the commit rate. Drag to zoom; the "Back to …" button
//   (or a double-click) goes back to the whole view.
// - Times on the graphs (axes, hover) are in the browser's time zone, which each graph names.
// window.flowtally shares the helpers with class-graph.js.
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

  /**
   * The commit rate at each point (`x`: seconds) from the figure's steps ([from ms, bits/s or
   * null], in time order): the step in force at the point's start.
   */
  function commitAt(x, steps) {
    const out = [];
    let k = 0;
    for (const t of x) {
      while (k + 1 < steps.length && steps[k + 1][0] <= t * 1000) k += 1;
      out.push(steps.length === 0 || steps[k][0] > t * 1000 ? null : steps[k][1]);
    }
    return out;
  }

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
      data.push(commitAt(x, commit));
      series.push({
        label: "Commit rate",
        stroke: COLORS.commit,
        width: 1,
        dash: [2, 2],
        // A change is a step: each point's rate holds until the next point.
        paths: window.uPlot.paths.stepped({ align: 1 }),
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
    if (commit !== undefined) {
      // Each value with the time it came into force, after the first.
      const told = commit.map(([from, bps], k) => {
        const value = bps === null ? "none" : rate(bps);
        return k === 0 ? value : `${value} from ${localTime(from / 1000)}`;
      });
      parts.push(`commit rate ${told.join(", then ")}`);
    }
    return `${parts.join(" · ")}. Drag across the graph to zoom in.`;
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

  /** The browser's time zone (IANA name), and times shown in it. */
  const TIME_ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  const TIME_FORMAT = new Intl.DateTimeFormat(undefined, {
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    timeZone: TIME_ZONE,
    timeZoneName: "short",
  });
  function localTime(seconds) {
    return seconds === null || seconds === undefined ? "–" : TIME_FORMAT.format(seconds * 1000);
  }

  /** The figure's note of the time zone, once. */
  function zoneNote(figure) {
    if (figure.querySelector(".chart-zone")) return;
    const p = document.createElement("p");
    p.className = "chart-zone muted";
    p.textContent = `Times in ${TIME_ZONE} (this browser's time zone).`;
    figure.querySelector("figcaption").after(p);
  }

  /**
   * The "Back to …" button of a graph: shown while the graph is zoomed in (dragged across), it
   * sets the x scale back to the whole range of the data.
   */
  function zoomControl(figure) {
    let button = figure.querySelector("button.zoom-back");
    if (!button) {
      button = document.createElement("button");
      button.type = "button";
      button.className = "zoom-back";
      button.hidden = true;
      button.textContent = `Back to ${figure.dataset.preset || "the whole graph"}`;
      figure.querySelector(".plot").before(button);
    }
    const hooks = {
      setScale: [
        (u, key) => {
          if (key !== "x") return;
          const xs = u.data[0];
          if (xs.length === 0) return;
          const zoomed = u.scales.x.min > xs[0] || u.scales.x.max < xs[xs.length - 1];
          button.hidden = !zoomed;
          figure.dataset.zoomed = zoomed ? "yes" : "no";
        },
      ],
    };
    const attach = (plot) => {
      button.onclick = () => {
        const xs = plot.data[0];
        plot.setScale("x", { min: xs[0], max: xs[xs.length - 1] });
      };
    };
    return { hooks, attach };
  }

  /** uPlot options every time-series graph shares: time zone, zoom, the y axis's units. */
  function plotOptions(figure, target, series, axis) {
    const zoom = zoomControl(figure);
    zoneNote(figure);
    series[0] = { label: "Time", value: (_u, v) => localTime(v) };
    return {
      options: {
        width: width(target),
        height: 260,
        series,
        axes: [{}, { values: (_u, vals) => vals.map(axis), size: 90 }],
        scales: { x: { time: true } },
        cursor: { drag: { x: true, y: false } },
        hooks: zoom.hooks,
      },
      attach: zoom.attach,
    };
  }

  window.flowtally = { rate, localTime, plotOptions, width: (el) => width(el) };

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
        figure.dataset.commitSteps === undefined
          ? undefined
          : JSON.parse(figure.dataset.commitSteps);
      const threshold = Number(figure.dataset.threshold);
      const { data, series, axis } = traffic
        ? { ...seriesOf(json, commit), axis: rate }
        : responseSeriesOf(json, threshold);
      const { options, attach } = plotOptions(figure, target, series, axis);
      const plot = new window.uPlot(options, data, target);
      attach(plot);
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
