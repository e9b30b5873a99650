/**
 * The console's status page (`/console/status`): what an operator checks when a graph looks
 * wrong. The exporters as `GET /api/v1/exporters` has them (the same view, exportersView), the
 * process's counters as `GET /api/v1/status` has them, and the dependencies `GET /healthz` says
 * are down. A part this process does not have (no decoders in `flowtally serve`) is said so.
 * Pure: the three answers in, Html out. The status object is read defensively: it is the
 * process's own (RunStats in `run`, something smaller elsewhere).
 */
import type { ExporterView } from "../query/exporters.js";
import { type Html, html } from "./html.js";
import { shownTime } from "./period.js";
import { tableWrap } from "./table-wrap.js";

/** An exporter silent for longer than this is marked. */
export const SILENT_ALERT_SECONDS = 300;

export interface StatusPageView {
  nowMs: number;
  /** undefined: this process has no decoders. */
  exporters?: readonly ExporterView[] | undefined;
  /** undefined: this process keeps no counters. */
  status?: unknown;
  /** undefined: this process reports no dependency health. */
  down?: ReadonlyArray<{ name: string; code?: string | undefined }> | undefined;
}

const exact = (n: number) => n.toLocaleString("en-US");
const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** `42 s`, `5 min 3 s`, `3 h 2 min`, `2 d 4 h`. */
export function shownSeconds(s: number): string {
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86_400)} d ${Math.floor((s % 86_400) / 3600)} h`;
}

/** A share (0..1) as a percentage with 3 decimals: `0.125 %`. */
export const shownShare = (share: number) => `${(share * 100).toFixed(3)} %`;

function time(iso: string | null): Html {
  if (iso === null) return html`<span class="muted">never</span>`;
  return html`<time datetime="${iso}">${iso.slice(0, 19).replace("T", " ")}</time>`;
}

const alertMark = (why: string) =>
  html` <span class="alert-mark" role="img" aria-label="${why}" title="${why}">!</span>`;

function exporterRow(e: ExporterView): Html {
  const silentAlert = e.silentSeconds !== null && e.silentSeconds > SILENT_ALERT_SECONDS;
  const lossAlert = e.lostRecords > 0 || e.lostPackets > 0;
  const silent =
    e.silentSeconds === null
      ? html`<td class="num" data-field="silentSeconds" data-label="Silent">–</td>`
      : html`<td class="num${silentAlert ? " alert" : ""}" data-field="silentSeconds" data-label="Silent" data-value="${e.silentSeconds}" title="${exact(e.silentSeconds)} seconds">${shownSeconds(e.silentSeconds)}${silentAlert ? alertMark("silent for more than 5 minutes") : html``}</td>`;
  const lost = e.protocol === "sflow" ? "flow samples" : "records";
  const flag = (n: number) => (n > 0 ? " alert" : "");
  const mark = (n: number) => (n > 0 ? alertMark("loss from sequence gaps") : html``);
  return html`<tr data-exporter="${e.exporter}" data-protocol="${e.protocol}"${silentAlert || lossAlert ? html` class="flagged"` : html``}>
<th scope="row">${e.exporter}</th>
<td data-field="protocol" data-label="Protocol">${e.protocol === "sflow" ? "sFlow" : "NetFlow / IPFIX"}</td>
${silent}
<td class="num" data-field="datagrams" data-label="Datagrams">${exact(e.datagrams)}</td>
<td class="num" data-field="records" data-label="Records">${exact(e.records)}</td>
<td class="num${flag(e.lostRecords)}" data-field="lostRecords" data-label="Lost" title="${exact(e.lostRecords)} ${lost} missing by the sequence numbers">${exact(e.lostRecords)}${mark(e.lostRecords)}</td>
<td class="num${flag(e.lostPackets)}" data-field="lostPackets" data-label="Lost packets">${exact(e.lostPackets)}${mark(e.lostPackets)}</td>
<td class="num${flag(e.lostRecords)}" data-field="lossShare" data-label="Loss"${e.lossShare === null ? html`` : html` data-value="${e.lossShare}"`}>${e.lossShare === null ? "–" : shownShare(e.lossShare)}</td>
<td class="num" data-field="sequenceResets" data-label="Sequence resets">${exact(e.sequenceResets)}</td>
<td data-field="firstSeen" data-label="First seen (UTC)">${time(e.firstSeen)}</td>
<td data-field="lastSeen" data-label="Last seen (UTC)">${time(e.lastSeen)}</td>
</tr>`;
}

function exportersSection(exporters: readonly ExporterView[] | undefined): Html {
  if (exporters === undefined) {
    return html`<section class="status-part" aria-labelledby="exporters-h"><h2 id="exporters-h">Exporters</h2>
<p class="muted" data-absent="exporters">This process decodes no flows (no collector inputs here), so it has no exporters to show. Open the status page of the process that collects (<code>flowtally run</code> or <code>flowtally collect</code>).</p></section>`;
  }
  if (exporters.length === 0) {
    return html`<section class="status-part" aria-labelledby="exporters-h"><h2 id="exporters-h">Exporters</h2>
<p data-empty="exporters">No exporter has sent a datagram since the process started.</p></section>`;
  }
  const flow = exporters.filter((e) => e.protocol === "netflow");
  const sflow = exporters.filter((e) => e.protocol === "sflow");
  const domainRows = flow.flatMap((e) =>
    (e.domains ?? []).map(
      (d) => html`<tr data-exporter="${e.exporter}" data-domain="${d.domain}">
<th scope="row">${e.exporter}</th>
<td class="num">${d.version === 10 ? "IPFIX" : `v${d.version}`}</td>
<td class="num">${d.domain}</td>
<td class="num" data-field="templates">${d.templates.filter((t) => !t.options).length}</td>
<td class="num" data-field="optionsTemplates">${d.templates.filter((t) => t.options).length}</td>
<td data-field="templateIds">${d.templates.map((t) => t.id).join(", ") || "–"}</td>
<td data-field="samplingRates">${
        d.samplingRates.length === 0
          ? html`<span class="muted">none sent</span>`
          : d.samplingRates.map(
              (r, i) =>
                html`${i > 0 ? ", " : ""}<span data-sampler="${r.sampler}" data-rate="${r.rate}">1:${exact(r.rate)}${r.sampler === 0 ? "" : html` <span class="muted">(sampler ${r.sampler})</span>`}</span>`,
            )
      }</td>
</tr>`,
    ),
  );
  const templateTotals = flow.map(
    (e) =>
      html`<tr data-exporter="${e.exporter}"><th scope="row">${e.exporter}</th>
<td class="num" data-field="known">${e.templates?.known ?? 0}</td>
<td class="num" data-field="learnt">${e.templates?.learnt ?? 0}</td>
<td class="num" data-field="redefined">${e.templates?.redefined ?? 0}</td>
<td class="num" data-field="withdrawn">${e.templates?.withdrawn ?? 0}</td></tr>`,
  );
  const agentRows = sflow.map(
    (e) =>
      html`<tr data-exporter="${e.exporter}"><th scope="row">${e.exporter}</th>
<td class="num" data-field="flow">${exact(e.samples?.flow ?? 0)}</td>
<td class="num" data-field="counter">${exact(e.samples?.counter ?? 0)}</td>
<td class="num" data-field="discard">${exact(e.samples?.discard ?? 0)}</td>
<td class="num" data-field="other">${exact(e.samples?.other ?? 0)}</td>
<td class="num${(e.samples?.agentDrops ?? 0) > 0 ? " alert" : ""}" data-field="agentDrops">${exact(e.samples?.agentDrops ?? 0)}</td></tr>`,
  );
  const flagged = exporters.filter(
    (e) =>
      e.lostRecords > 0 ||
      e.lostPackets > 0 ||
      (e.silentSeconds !== null && e.silentSeconds > SILENT_ALERT_SECONDS),
  ).length;
  return html`<section class="status-part" aria-labelledby="exporters-h"><h2 id="exporters-h">Exporters</h2>
<p>${exporters.length} exporter${exporters.length === 1 ? "" : "s"} heard${
    flagged > 0
      ? html` · <strong class="alert-text" data-flagged="${flagged}">${flagged} need${flagged === 1 ? "s" : ""} a look</strong> (loss from sequence gaps, or silent for more than 5 minutes)`
      : html` · none lost anything or went silent`
  }. <em>Lost</em>: records (NetFlow v5, IPFIX) or flow samples (sFlow) missing by the exporter's sequence numbers, and their share of records received + lost; <em>lost packets</em>: NetFlow v9 export packets or sFlow datagrams missing.</p>
${tableWrap(
  "Exporters",
  html`<table class="data" id="exporters">
<caption class="visually-hidden">Exporters heard, by address</caption>
<thead><tr><th scope="col">Exporter</th><th scope="col">Protocol</th><th scope="col" class="num">Silent</th><th scope="col" class="num">Datagrams</th><th scope="col" class="num">Records</th><th scope="col" class="num" title="NetFlow v5, IPFIX: records; sFlow: flow samples">Lost</th><th scope="col" class="num" title="NetFlow v9: export packets; sFlow: datagrams">Lost packets</th><th scope="col" class="num">Loss</th><th scope="col" class="num">Sequence resets</th><th scope="col">First seen (UTC)</th><th scope="col">Last seen (UTC)</th></tr></thead>
<tbody>${exporters.map(exporterRow)}</tbody>
</table>`,
)}
${
  flow.length === 0
    ? html``
    : html`<h3>Templates and sampling rates (NetFlow / IPFIX)</h3>
${tableWrap(
  "Templates",
  html`<table class="data" id="templates">
<caption class="visually-hidden">Templates known per exporter</caption>
<thead><tr><th scope="col">Exporter</th><th scope="col" class="num">Known</th><th scope="col" class="num">Learnt</th><th scope="col" class="num">Redefined</th><th scope="col" class="num">Withdrawn</th></tr></thead>
<tbody>${templateTotals}</tbody></table>`,
)}
${
  domainRows.length === 0
    ? html`<p class="muted">No observation domain has sent a template yet (NetFlow v5 has none).</p>`
    : tableWrap(
        "Observation domains",
        html`<table class="data" id="domains">
<caption class="visually-hidden">Templates and sampling rates per observation domain</caption>
<thead><tr><th scope="col">Exporter</th><th scope="col" class="num">Version</th><th scope="col" class="num">Domain</th><th scope="col" class="num">Data templates</th><th scope="col" class="num">Options templates</th><th scope="col">Template ids</th><th scope="col">Sampling rates</th></tr></thead>
<tbody>${domainRows}</tbody></table>`,
      )
}`
}
${
  sflow.length === 0
    ? html``
    : html`<h3>sFlow samples</h3>
${tableWrap(
  "sFlow samples",
  html`<table class="data" id="sflow">
<caption class="visually-hidden">sFlow samples per agent</caption>
<thead><tr><th scope="col">Agent</th><th scope="col" class="num">Flow</th><th scope="col" class="num">Counter</th><th scope="col" class="num">Discard</th><th scope="col" class="num">Other</th><th scope="col" class="num" title="Packets the agent could not sample">Agent drops</th></tr></thead>
<tbody>${agentRows}</tbody></table>`,
)}`
}
</section>`;
}

/** Figures that are trouble when not zero. */
const ALERT_KEYS = new Set([
  "kernelDrops",
  "storeErrors",
  "refusedDatagrams",
  "undrainedDatagrams",
]);

/** What the status object's keys mean, for people (a key not here is shown as it is). */
const LABELS: Readonly<Record<string, string>> = {
  uptimeSeconds: "Uptime (s)",
  datagrams: "Datagrams",
  records: "Records",
  unattributedRecords: "Records of no customer",
  futureRecords: "Records from the future",
  refusedDatagrams: "Refused datagrams",
  kernelDrops: "Kernel drops",
  rcvbufErrors: "Host UDP RcvbufErrors",
  undrainedDatagrams: "Undrained datagrams",
  seriesRowsWritten: "Series rows written",
  storeErrors: "Store errors",
  pendingRows: "Rows waiting for the store",
  latePartials: "Late partials",
  count: "Sets",
  bytes: "Bytes",
};

/** A definition list of an object's scalar entries (nested objects are left out). */
function figures(id: string, o: Record<string, unknown>, alertNonZero = false): Html {
  const entries = Object.entries(o).filter(
    ([, v]) =>
      v === null || typeof v === "number" || typeof v === "string" || typeof v === "boolean",
  );
  if (entries.length === 0) return html`<p class="muted" id="${id}">None.</p>`;
  return html`<dl class="figures" id="${id}">${entries.map(([k, v]) => {
    const bad = (alertNonZero || ALERT_KEYS.has(k)) && typeof v === "number" && v > 0;
    return html`<div${bad ? html` class="alert"` : html``}><dt title="${k}">${LABELS[k] ?? k}</dt><dd data-key="${k}">${v === null ? "unknown" : typeof v === "number" ? exact(v) : String(v)}</dd></div>`;
  })}</dl>`;
}

function countsTable(id: string, caption: string, counts: Record<string, unknown>): Html {
  const rows = Object.entries(counts).filter(([, n]) => typeof n === "number" && n > 0) as Array<
    [string, number]
  >;
  if (rows.length === 0) return html`<p id="${id}" data-empty="${id}">None.</p>`;
  rows.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  return tableWrap(
    caption,
    html`<table class="data" id="${id}">
<caption class="visually-hidden">${caption}</caption>
<thead><tr><th scope="col">Reason</th><th scope="col" class="num">Count</th></tr></thead>
<tbody>${rows.map(([k, n]) => html`<tr data-reason="${k}"><th scope="row">${k}</th><td class="num alert" data-value="${n}">${exact(n)}</td></tr>`)}</tbody></table>`,
  );
}

function processSection(status: unknown): Html {
  if (status === undefined || !isRecord(status)) {
    return html`<section class="status-part" aria-labelledby="process-h"><h2 id="process-h">Decoding and the process</h2>
<p class="muted" data-absent="status">This process keeps no collector counters (no <code>GET /api/v1/status</code> here).</p></section>`;
  }
  const s = status;
  const scalar = (k: string) => s[k];
  const top: Record<string, unknown> = {};
  for (const k of [
    "uptimeSeconds",
    "datagrams",
    "records",
    "unattributedRecords",
    "futureRecords",
    "refusedDatagrams",
    "kernelDrops",
    "rcvbufErrors",
    "undrainedDatagrams",
  ]) {
    if (k in s) top[k] = scalar(k);
  }
  const held = isRecord(s.held) ? s.held : undefined;
  const inputs = Array.isArray(s.inputs) ? s.inputs.filter(isRecord) : [];
  const capture = isRecord(s.capture) ? s.capture : undefined;
  return html`<section class="status-part" aria-labelledby="process-h"><h2 id="process-h">Decoding and the process</h2>
<h3>Decode problems by reason</h3>
${isRecord(s.problems) ? countsTable("problems", "Decode problems by reason", s.problems) : html`<p class="muted" data-absent="problems">Not counted by this process.</p>`}
<h3>Records dropped before the sums</h3>
${isRecord(s.droppedRecords) ? countsTable("dropped", "Records dropped by reason", s.droppedRecords) : html`<p class="muted" data-absent="dropped">Not counted by this process.</p>`}
<h3>Counters</h3>
${figures("counters", top)}
${held === undefined ? html`` : html`<h3>Held data sets (waiting for their template)</h3>${figures("held", held)}`}
${
  inputs.length === 0
    ? html``
    : html`<h3>Inputs</h3>${tableWrap(
        "Inputs",
        html`<table class="data" id="inputs">
<caption class="visually-hidden">UDP inputs</caption>
<thead><tr><th scope="col">Listen</th><th scope="col" class="num">Port</th><th scope="col" class="num">Datagrams</th><th scope="col" class="num">Refused</th><th scope="col" class="num">Kernel drops</th><th scope="col" class="num">Undrained</th><th scope="col" class="num">Receive buffer</th></tr></thead>
<tbody>${inputs.map((i) => {
          const n = (k: string) => (typeof i[k] === "number" ? exact(i[k] as number) : "unknown");
          const drops = typeof i.kernelDrops === "number" && i.kernelDrops > 0;
          return html`<tr><th scope="row">${String(i.listen ?? "")}</th><td class="num">${n("port")}</td><td class="num">${n("datagrams")}</td><td class="num">${n("refusedDatagrams")}</td><td class="num${drops ? " alert" : ""}" data-field="kernelDrops">${n("kernelDrops")}</td><td class="num">${n("undrained")}</td><td class="num">${n("receiveBufferBytes")}</td></tr>`;
        })}</tbody></table>`,
      )}`
}
${capture === undefined ? html`` : html`<h3>Packet capture</h3>${figures("capture", capture)}`}
</section>`;
}

function healthSection(down: StatusPageView["down"], status: unknown): Html {
  const s = isRecord(status) ? status : undefined;
  const store: Record<string, unknown> = {};
  if (s !== undefined) {
    for (const k of ["seriesRowsWritten", "storeErrors", "pendingRows", "latePartials"]) {
      if (k in s) store[k] = s[k];
    }
  }
  const queue = s !== undefined && isRecord(s.queue) ? s.queue : undefined;
  const wal = s !== undefined && isRecord(s.wal) ? s.wal : undefined;
  const registry = s !== undefined && isRecord(s.registry) ? s.registry : undefined;
  const healthText =
    down === undefined
      ? html`<p class="muted" data-absent="health">This process reports no dependency health.</p>`
      : down.length === 0
        ? html`<p id="health" data-health="ok"><span class="ok-mark">OK</span> every dependency is up (<code>/healthz</code>: ok).</p>`
        : html`<p id="health" data-health="degraded" class="alert-text">Degraded: down now</p>
<ul id="down">${down.map((d) => html`<li class="alert-text" data-down="${d.name}">${d.name}${d.code === undefined ? "" : html` <code>${d.code}</code>`}</li>`)}</ul>`;
  return html`<section class="status-part" aria-labelledby="health-h"><h2 id="health-h">Store and queue health</h2>
${healthText}
${Object.keys(store).length === 0 ? html`` : html`<h3>Store</h3>${figures("store", store)}`}
${queue === undefined ? html`` : html`<h3>Queue</h3>${figures("queue", queue)}`}
${wal === undefined ? html`` : html`<h3>Write-ahead log</h3>${figures("wal", wal)}`}
<h3>Customer registry</h3>
${
  registry === undefined
    ? html`<p class="muted" data-absent="registry">This process does not say which registry version it applies.</p>`
    : html`<p id="registry">Version <strong data-field="appliedVersion">${String(registry.appliedVersion ?? "–")}</strong> of the ${String(registry.source ?? "")} registry, applied ${typeof registry.appliedAt === "string" ? time(registry.appliedAt) : html`<span class="muted">not yet</span>`}.</p>`
}
</section>`;
}

export function renderStatus(view: StatusPageView): Html {
  return html`<div id="status" class="status">
<h1>Status</h1>
<p class="period">As of ${shownTime(view.nowMs)} UTC · the figures count from the process's start. The same data: <code>GET /api/v1/exporters</code>, <code>/api/v1/status</code>, <code>/healthz</code>.</p>
${exportersSection(view.exporters)}
<div class="status-grid">
${healthSection(view.down, view.status)}
${processSection(view.status)}
</div>
</div>`;
}
