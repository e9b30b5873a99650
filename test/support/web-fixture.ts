/**
 * A started flowtally API with its pages (web/) over a DuckDB store holding fixed traffic of
 * 2026-11-01, accounts of every role, and a clock fixed at 2026-11-02T12:00:30Z (the pages' "now"):
 * the fixture never meets the real calendar. The expected figures are computed here from the
 * fixture's own definition (`FIXTURE`), never read back from flowtally.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createAccountStore } from "../../accounts/account-store.js";
import { type Accounts, accountsConfigOf, createAccounts } from "../../accounts/accounts.js";
import { buildCustomerModel } from "../../collector/classify/customer-model.js";
import { validateConfig } from "../../config/load-config.js";
import { type ApiServer, type ApiServerDeps, createApiServer } from "../../query/api/index.js";
import { createDuckDbDriver } from "../../registry/duckdb-registry.js";
import type { Config } from "../../schema/config.js";
import type { SeriesStore } from "../../schema/series-store.js";
import { createDuckDbStore } from "../../store/duckdb-store.js";
import { httpClient } from "./http-client.js";
import { captureLog } from "./log-capture.js";
import { atAllLevels } from "./store-conformance.js";

export const TOKEN = "operator-token-0123456789";
export const PASSWORD = "a long enough password";
const MIN = 60_000;
/** The fixture's day. */
export const DAY0 = Date.UTC(2026, 10, 1);
/** The pages' clock: the next day, 12:00:30 UTC. */
export const NOW = Date.UTC(2026, 10, 2, 12, 0, 30);

/** Markers that appear only in one customer's data. */
export const MARK = { acme: "ACME-MOTD-7f3a", beta: "BETA-MOTD-9c1e" } as const;

/**
 * The traffic: for each customer, one link, and bytes in / out in each minute of 10:00-10:59 on
 * 2026-11-01 (minute k = 0..59): in = base + k × step, out = outBase + k.
 */
export const FIXTURE = [
  {
    id: "acme",
    name: "Acme Corp",
    serviceType: "business",
    router: "192.0.2.1",
    base: 3_000_000,
    step: 1000,
    outBase: 400_000,
    commit: 10_000_000,
  },
  {
    id: "beta",
    name: "Beta Ltd",
    serviceType: "business",
    router: "192.0.2.2",
    base: 9_000_000,
    step: 7,
    outBase: 90_000,
    commit: 20_000_000,
  },
  {
    id: "gamma",
    name: "Gamma Home",
    serviceType: "residential",
    router: "192.0.2.1",
    base: 50_000,
    step: 3,
    outBase: 2_500_000,
    commit: undefined,
  },
  {
    id: "delta",
    name: "Delta <b>&amp;</b> Co",
    serviceType: "residential",
    router: "192.0.2.2",
    base: 0,
    step: 0,
    outBase: 0,
    commit: undefined,
  },
] as const;

/** The bytes of minute k of a fixture customer. */
export const minuteBytes = (c: (typeof FIXTURE)[number], k: number) => ({
  in: c.base + k * c.step,
  out: c.outBase + k,
});

/** Hand sums over 10:00-10:59: Σ(base + k·step) = 60·base + step·(0+…+59) = 60·base + 1770·step. */
export function expectedTotals(c: (typeof FIXTURE)[number]) {
  return { bytesIn: 60 * c.base + 1770 * c.step, bytesOut: 60 * c.outBase + 1770 };
}

/**
 * `extra` more customers without traffic (`c00001`, …), for the paging of 10 000; `classes`: the
 * config's traffic classes (none by default: everything is in `default`).
 */
export function webConfig(extra = 0, classes: readonly unknown[] = []): Readonly<Config> {
  const more = Array.from({ length: extra }, (_, i) => {
    const n = String(i + 1).padStart(5, "0");
    const a = 16 + Math.floor(i / 256);
    return {
      id: `c${n}`,
      name: `Customer ${n}`,
      serviceType: "residential",
      sites: [{ id: "s", links: [{ id: "l", prefixes: [`10.${a}.${i % 256}.0/24`] }] }],
    };
  });
  return validateConfig({
    api: {
      listen: "127.0.0.1:0",
      operatorTokens: [TOKEN],
      login: { window: "15m", perAddress: 1000, perUserAddress: 100, perUser: 1000 },
    },
    motd: "Maintenance on Sunday 02:00 UTC",
    classes,
    portal: {
      branding: {
        title: "Example Networks portal",
        colors: { primary: "#6a1b9a" },
        footer: "Example Networks · support +1 555 0100",
        loginText: "Customers of Example Networks: log in with the account we sent you.",
      },
    },
    customers: [
      ...FIXTURE.map((c, i) => ({
        id: c.id,
        name: c.name,
        serviceType: c.serviceType,
        ...(c.id === "acme" || c.id === "beta" ? { motd: MARK[c.id] } : {}),
        sites: [
          {
            id: "hq",
            name: "Head office",
            links: [
              {
                id: "fiber",
                name: "Fiber",
                prefixes: [`198.51.100.${i * 16}/28`],
                router: c.router,
                ifIndex: 10 + i,
                ...(c.commit === undefined ? {} : { commitRate: c.commit }),
              },
            ],
          },
        ],
      })),
      ...more,
    ],
  });
}

export interface WebServer {
  api: ApiServer;
  accounts: Accounts;
  port: number;
  base: string;
  http: ReturnType<typeof httpClient>;
  /** The pages' and the accounts' clock (NOW unless a test moves it). */
  clock: { now: number };
  /** The store the fixture was written to (a test may add its own rows). */
  store: SeriesStore;
  close(): Promise<void>;
}

/** Writes the fixture, starts the API with accounts and users of every role. */
export async function startWebServer(
  o: {
    extraCustomers?: number;
    /** The process's dependencies of the status page (`exporters`, `status`, `health`). */
    process?: Pick<ApiServerDeps, "exporters" | "status" | "health">;
    /** The config's traffic classes (webConfig). */
    classes?: readonly unknown[];
    /** The customer registry the API and the pages use (default: the config's customers). */
    registry?: ApiServerDeps["registry"];
    /** Portal settings over webConfig's (e.g. `templates`, absolute paths). */
    portal?: Partial<Config["portal"]>;
  } = {},
): Promise<WebServer> {
  const dir = await mkdtemp(join(tmpdir(), "flowtally-web-"));
  const store: SeriesStore = createDuckDbStore({ path: join(dir, "series.duckdb") });
  await store.start();
  for (const c of FIXTURE) {
    const rows = [];
    for (let k = 0; k < 60; k += 1) {
      const b = minuteBytes(c, k);
      const t = DAY0 + 10 * 3_600_000 + k * MIN;
      const key = { customer: c.id, site: "hq", link: "fiber", trafficClass: "default" };
      if (b.in > 0) rows.push(...atAllLevels({ ...key, direction: "in" }, t, b.in, 10, 1));
      if (b.out > 0) rows.push(...atAllLevels({ ...key, direction: "out" }, t, b.out, 10, 1));
    }
    if (rows.length > 0) await store.addDeltas(rows);
  }
  const base = webConfig(o.extraCustomers ?? 0, o.classes);
  const cfg = o.portal === undefined ? base : { ...base, portal: { ...base.portal, ...o.portal } };
  const clock = { now: NOW };
  const now = () => clock.now;
  const accounts = createAccounts(accountsConfigOf(cfg.api), {
    store: createAccountStore(createDuckDbDriver({ path: join(dir, "registry.duckdb") })),
    now,
    passwordParams: { ln: 10, r: 8, p: 1 },
  });
  await accounts.start();
  const admin = { user: "operator-token", role: "admin", via: "operator-token" } as const;
  for (const u of [
    { id: "ops", role: "operator" },
    { id: "acme-user", role: "customer", customer: "acme" },
    { id: "beta-user", role: "customer", customer: "beta" },
  ] as const) {
    await accounts.addUser({ ...u, password: PASSWORD, auth: "local" } as never, admin, "test");
  }
  const { log } = captureLog();
  const api = createApiServer({
    config: cfg,
    model: buildCustomerModel(cfg),
    store,
    log,
    now,
    // Every minute of the fixture is complete.
    completeUntil: () => Date.UTC(2026, 10, 2, 12, 0),
    accounts,
    ...o.process,
    ...(o.registry === undefined ? {} : { registry: o.registry }),
  });
  const { port } = await api.listen();
  return {
    api,
    accounts,
    port,
    base: `http://127.0.0.1:${port}`,
    http: httpClient({ port }),
    clock,
    store,
    async close() {
      await api.close();
      await accounts.stop();
      await store.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
