import { describe, expect, it } from "vitest";
import { CustomerModelUpdater } from "../../collector/classify/customer-model-update.js";
import { runSteps } from "../../collector/classify/steps.js";
import { liveModel } from "../../registry/registry-runtime.js";
import { type Config, configSchema } from "../../schema/config.js";
import type { CustomerTotals, SeriesStore } from "../../schema/series-store.js";
import { createDataEndpoints } from "./data-endpoints.js";

type ConfigCustomer = Config["customers"][number];

const BASE = configSchema.parse({ classes: [] });
const config = (customers: ConfigCustomer[]): Config => ({ ...BASE, customers });
const customer = (id: string, link: Record<string, unknown>): ConfigCustomer =>
  ({
    id,
    name: id.toUpperCase(),
    serviceType: "business",
    sites: [{ id: "hq", links: [{ id: "l1", prefixes: [], ...link }] }],
  }) as unknown as ConfigCustomer;

const totals = (customer: string): CustomerTotals =>
  ({ customer, bytesIn: 1, bytesOut: 1, packetsIn: 1, packetsOut: 1, flows: 1 }) as CustomerTotals;

describe("the overview's indexes of the live model", () => {
  it("follow a version that changes a link but no customer (the customers' array is the same)", async () => {
    // The model as `run` has it: each registry version's derived from the last (the array of
    // customers kept when no customer's own fields changed), read through one live object.
    const updater = new CustomerModelUpdater();
    const a1 = customer("a", {});
    const b = customer("b", { router: "192.0.2.1", ifIndex: 1 });
    let current = runSteps(updater.build(config([a1, b])));
    const first = current;
    const model = liveModel(() => current);
    const store = {
      overview: async () => [totals("a"), totals("b")],
    } as unknown as SeriesStore;
    const api = createDataEndpoints({
      config: config([a1, b]),
      model,
      store,
      now: () => Date.parse("2026-12-07T12:00:00Z"),
      completeUntil: () => Date.parse("2026-12-07T12:00:00Z"),
    });
    const ids = async (search: string) =>
      (await api.overviewRows(`from=2026-12-07T00:00:00Z&${search}`)).rows
        .map((r) => r.customer)
        .sort();
    expect(await ids("router=192.0.2.1")).toEqual(["b"]);
    await expect(api.overviewRows("from=2026-12-07T00:00:00Z&router=192.0.2.2")).rejects.toThrow(
      /no configured link/,
    );

    // a's link moves onto a second router: a new links' array and interface map, the same customers.
    const a2 = customer("a", { router: "192.0.2.2", ifIndex: 7 });
    current = runSteps(updater.update(config([a2, b]), [{ id: "a", after: a2 }]));
    expect(current.customers).toBe(first.customers);
    expect(current.interfaces).not.toBe(first.interfaces);
    expect(await ids("router=192.0.2.2")).toEqual(["a"]);
    expect(await ids("router=192.0.2.1")).toEqual(["b"]);
  });
});
