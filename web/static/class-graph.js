// Traffic by class (web/class-traffic.ts): figures with data-class-traffic list, per class, the
// traffic API's URL of the graph's range with `class=`. Each class's average rates are stacked,
// in above the axis and out below it; hovering shows each class's own rate. Needs uPlot and
// console.js (window.flowtally: rate, times in the browser's zone, zoom and "Back to …").
(() => {
  // Line and (opaque, lighter) fill of each class, so that the bands do not mix.
  const PALETTE = [
    ["#1f77b4", "#a6c8e4"],
    ["#ff7f0e", "#ffc999"],
    ["#2ca02c", "#a7d9a7"],
    ["#d62728", "#eea9a9"],
    ["#9467bd", "#d3c0e5"],
    ["#8c564b", "#d2b8b2"],
    ["#e377c2", "#f4c6e6"],
  ];

  async function fetchJson(url) {
    const res = await fetch(url, {
      credentials: "same-origin",
      headers: { accept: "application/json" },
    });
    const json = await res.json();
    if (!res.ok) throw new Error(json?.error?.message ?? `HTTP ${res.status}`);
    return json;
  }

  async function draw(figure) {
    if (figure.dataset.drawn) return;
    const ft = window.flowtally;
    figure.dataset.drawn = "loading";
    const note = figure.querySelector(".chart-summary");
    const target = figure.querySelector(".plot");
    try {
      const list = JSON.parse(figure.dataset.classTraffic);
      const answers = await Promise.all(list.map((c) => fetchJson(c.url)));
      const x = answers[0].points.map((p) => Date.parse(p.time) / 1000);
      const raw = [];
      const data = [x];
      const series = [{}];
      // Stacked sums, the top one first so that each class's band shows under the next.
      for (const [direction, sign] of [
        ["In", 1],
        ["Out", -1],
      ]) {
        const key = direction === "In" ? "bpsIn" : "bpsOut";
        const sums = [];
        let below = x.map(() => 0);
        for (const a of answers) {
          below = a.points.map((p, k) => below[k] + p[key]);
          sums.push(below);
        }
        for (let i = list.length - 1; i >= 0; i--) {
          const own = answers[i].points.map((p) => p[key]);
          raw.push({ class: list[i].class, direction, own });
          data.push(sums[i].map((v) => sign * v));
          const [stroke, fill] = PALETTE[i % PALETTE.length];
          series.push({
            label: `${list[i].class} ${direction.toLowerCase()}`,
            stroke,
            fill,
            width: 1,
            value: (_u, _v, _si, idx) => (idx === null ? "–" : ft.rate(own[idx])),
          });
        }
      }
      const axis = (v) => ft.rate(Math.abs(v));
      const { options, attach } = ft.plotOptions(figure, target, series, axis);
      const plot = new window.uPlot(options, data, target);
      attach(plot);
      figure.flowtally = { data, raw, plot };
      figure.dataset.drawn = "yes";
      note.textContent = `${list.length} ${list.length === 1 ? "class" : "classes"}, ${x.length} points of ${answers[0].step}, stacked: in above the axis, out below. Drag across the graph to zoom in.`;
      new ResizeObserver(() => plot.setSize({ width: ft.width(target), height: 260 })).observe(
        figure,
      );
    } catch (e) {
      figure.dataset.drawn = "failed";
      note.textContent = `The graph could not be drawn: ${e.message}`;
    }
  }

  function enhance(root) {
    if (window.uPlot === undefined || window.flowtally === undefined) return;
    for (const f of root.querySelectorAll("figure.chart[data-class-traffic]")) void draw(f);
  }

  document.addEventListener("DOMContentLoaded", () => enhance(document));
  document.addEventListener("htmx:afterSettle", (e) => enhance(e.target));
})();
