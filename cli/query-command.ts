/** `flowtally query overview`: the operator overview from the configured store. */
import { buildCustomerModel } from "../collector/classify/customer-model.js";
import { loadConfigFile } from "../config/load-config.js";
import {
  buildOverview,
  customersByRouter,
  type OverviewColumn,
  overviewCsv,
  overviewCustomers,
  overviewTable,
} from "../query/overview.js";
import { createStore } from "../store/create-store.js";
import { createLogger } from "./logger.js";

export interface OverviewOptions {
  config: string;
  from: number;
  to: number;
  router?: string;
  serviceType?: string;
  sort: OverviewColumn;
  order: "asc" | "desc";
  format: "table" | "csv" | "json";
}

export async function runOverview(opts: OverviewOptions): Promise<string> {
  const cfg = loadConfigFile(opts.config);
  const model = buildCustomerModel(cfg);
  const filter = {
    ...(opts.router === undefined ? {} : { router: opts.router }),
    ...(opts.serviceType === undefined ? {} : { serviceType: opts.serviceType }),
  };
  const customers = overviewCustomers(model, customersByRouter(cfg), filter);
  // Read-only: a query never creates a store, nor writes to one.
  const store = createStore(cfg.store, { log: createLogger("warn"), readOnly: true });
  await store.start();
  try {
    const totals = await store.overview({
      fromMs: opts.from,
      toMs: opts.to,
      ...(customers === undefined ? {} : { customers }),
    });
    const rows = buildOverview(model, totals, { customers, sort: opts.sort, order: opts.order });
    if (opts.format === "csv") return overviewCsv(rows);
    if (opts.format === "json") {
      return `${JSON.stringify({ from: new Date(opts.from).toISOString(), to: new Date(opts.to).toISOString(), rows }, null, 2)}\n`;
    }
    return overviewTable(rows);
  } finally {
    await store.stop();
  }
}
