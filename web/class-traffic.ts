/**
 * Traffic by class on the console's customer / site / link page: a table of each class's bytes
 * and average rates over the graph's range (query/traffic-by-class.ts, exact sums of the stored
 * rows) and a stacked graph of the classes' rates, in above the axis and out below it, drawn by
 * web/static/class-graph.js from the traffic API (`class=`), with the viewer's own session. Pure.
 */
import type { ClassTotals, TrafficByClass } from "../query/traffic-by-class.js";
import { type Html, html } from "./html.js";
import type { Range } from "./period.js";
import { tableWrap } from "./table-wrap.js";
import { bytesCell, rateCell } from "./units.js";

export interface ClassTrafficView {
  byClass: TrafficByClass;
  range: Range;
  /** The traffic API's URL of the graph's range and scope, without `class=`. */
  url: string;
  /** What the graph covers ("link fiber, day ending 2026-11-01"). */
  title: string;
  /** What "Back to …" goes back to. */
  preset: string;
}

function row(label: Html, t: ClassTotals, seconds: number, total: ClassTotals): Html {
  const all = total.bytesIn + total.bytesOut;
  const share = all === 0 ? 0 : ((t.bytesIn + t.bytesOut) / all) * 100;
  return html`<tr><th scope="row">${label}</th>
    <td class="num">${bytesCell(t.bytesIn)}</td><td class="num">${bytesCell(t.bytesOut)}</td>
    <td class="num">${rateCell((t.bytesIn * 8) / seconds)}</td><td class="num">${rateCell((t.bytesOut * 8) / seconds)}</td>
    <td class="num">${share.toFixed(1)} %</td></tr>`;
}

export function renderClassTraffic(v: ClassTrafficView): Html {
  const seconds = (v.range.toMs - v.range.fromMs) / 1000;
  const { classes, other, total } = v.byClass;
  const rows = classes.map((c) => row(html`${c.trafficClass}`, c, seconds, total));
  if (other !== undefined) {
    rows.push(
      row(
        html`<span class="muted">other (classes no longer configured)</span>`,
        other,
        seconds,
        total,
      ),
    );
  }
  const series = classes.map((c) => {
    const u = new URL(v.url, "http://x");
    u.searchParams.set("class", c.trafficClass);
    return { class: c.trafficClass, url: `${u.pathname}${u.search}` };
  });
  const graph =
    classes.length === 0
      ? html``
      : html`<figure class="chart" data-class-traffic="${JSON.stringify(series)}" data-preset="${v.preset}">
  <figcaption>Traffic by class of ${v.title} (average rate per point; in above the axis, out below)</figcaption>
  <div class="plot" role="img" aria-label="Traffic by class of ${v.title}, stacked"></div>
  <p class="chart-summary" aria-live="polite">Loading the graph…</p>
</figure>`;
  return html`<section class="by-class" aria-label="Traffic by class"><h2>Traffic by class</h2>
${
  rows.length === 0
    ? html`<p class="muted">No traffic in this range.</p>`
    : tableWrap(
        "Traffic by class",
        html`<table class="data" data-by-class>
<thead><tr><th scope="col">Class</th><th scope="col" class="num">Down</th><th scope="col" class="num">Up</th><th scope="col" class="num">Average down</th><th scope="col" class="num">Average up</th><th scope="col" class="num">Share</th></tr></thead>
<tbody>${rows}</tbody>
<tfoot>${row(html`Total`, total, seconds, total)}</tfoot></table>`,
      )
}
${graph}</section>`;
}
