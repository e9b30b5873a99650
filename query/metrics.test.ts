import { describe, expect, it } from "vitest";
import { createMetrics, type MetricsSnapshot } from "./metrics.js";

function snapshot(datagrams: number, drops: number): MetricsSnapshot {
  return {
    exporters: [
      { exporter: "192.0.2.1", datagrams, records: datagrams * 25, lostRecords: 3, templates: 2 },
    ],
    problems: { "template-invalid": 1 },
    inputs: [{ listen: "0.0.0.0:2055", datagrams, kernelDrops: drops }],
    rcvbufErrors: null,
    records: datagrams * 25,
    unattributedRecords: 7,
    seriesRowsWritten: 40,
    storeErrors: 0,
    pendingRows: 5,
    heldSets: 1,
    lateLinkStatusSamples: drops * 2,
  };
}

describe("Prometheus metrics", () => {
  it("exposes the process's running totals as counters that follow them across scrapes", async () => {
    let s = snapshot(10, 0);
    const m = createMetrics(() => s);
    const first = await m.text();
    expect(first).toContain('flowtally_datagrams_received_total{exporter="192.0.2.1"} 10');
    expect(first).toContain('flowtally_records_received_total{exporter="192.0.2.1"} 250');
    expect(first).toContain('flowtally_templates{exporter="192.0.2.1"} 2');
    expect(first).toContain('flowtally_decode_problems_total{reason="template-invalid"} 1');
    expect(first).toContain('flowtally_udp_kernel_drops_total{listen="0.0.0.0:2055"} 0');
    expect(first).toContain("flowtally_store_pending_rows 5");
    expect(first).toContain("# TYPE flowtally_datagrams_received_total counter");
    expect(first).toMatch(/flowtally_process_cpu_seconds_total/);
    s = snapshot(30, 4);
    const second = await m.text();
    expect(second).toContain('flowtally_datagrams_received_total{exporter="192.0.2.1"} 30');
    expect(second).toContain('flowtally_udp_kernel_drops_total{listen="0.0.0.0:2055"} 4');
    expect(first).toContain("flowtally_link_status_late_samples_total 0");
    expect(second).toContain("flowtally_link_status_late_samples_total 8");
    expect(m.contentType).toMatch(/^text\/plain/);
  });

  it("exposes the API's own counters when the API passes them in", async () => {
    const m = createMetrics(() => snapshot(1, 0));
    const api = {
      connections: 3,
      connectionsRefused: 2,
      clientErrors: { timeout: 4, "headers-too-large": 1, malformed: 0 },
      authFailures: 12,
      authBlockedRequests: 5,
      authBlockedAddresses: 1,
      authAddressesEvicted: 0,
    };
    // Series without labels show from the first scrape, at 0 until the API reports.
    expect(await m.text()).toContain("flowtally_api_auth_failures_total 0");
    const first = await m.text(api);
    expect(first).toContain("flowtally_api_connections 3");
    expect(first).toContain("flowtally_api_connections_refused_total 2");
    expect(first).toContain('flowtally_api_client_errors_total{reason="timeout"} 4');
    expect(first).toContain('flowtally_api_client_errors_total{reason="malformed"} 0');
    expect(first).toContain("flowtally_api_auth_failures_total 12");
    expect(first).toContain("flowtally_api_auth_blocked_requests_total 5");
    expect(first).toContain("flowtally_api_auth_blocked_addresses 1");
    expect(first).toContain("flowtally_api_auth_addresses_evicted_total 0");
    expect(first).toContain("# TYPE flowtally_api_auth_failures_total counter");
    const second = await m.text({ ...api, authFailures: 20, connections: 1 });
    expect(second).toContain("flowtally_api_auth_failures_total 20");
    expect(second).toContain("flowtally_api_connections 1");
  });
});
