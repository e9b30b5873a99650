/**
 * Stores the customers' billing-profile versions (sla/billing-profile.ts, docs/sla.md "Profile
 * versions"): at start, at each SIGHUP and at each registry version, every customer whose
 * effective profile differs from the last one stored gets a version from now. Idempotent: a
 * profile equal to the stored one writes nothing, so many processes starting with one config
 * make one version (and two that race, storing the same profile at two moments, are read as one:
 * profileHistory keeps the first). The thin I/O shell around the pure profile functions.
 */
import type { Logger } from "pino";
import type { Config } from "../schema/config.js";
import type { SeriesStore } from "../schema/series-store.js";
import { billingResolver } from "./billing.js";
import { customerProfile, profileHistory, profileText } from "./billing-profile.js";

export interface ProfileRecorderDeps {
  store: SeriesStore;
  log: Pick<Logger, "info" | "warn">;
  now?: () => number;
}

export interface ProfileRecorder {
  /**
   * Stores the versions of `cfg`'s customers (the registry's swapped in) that differ from the last
   * stored. `fresh`: read the last stored ones again first (start and SIGHUP; a registry version
   * compares with what this process knows). Calls run one after the other; calls made while one
   * waits for its turn join it, with the newest `cfg`. Answers how many
   * versions it wrote; a store failure is logged and answered as 0 (the next call tries again).
   */
  record(
    cfg: Pick<Readonly<Config>, "customers" | "serviceTypes">,
    fresh?: boolean,
  ): Promise<number>;
  /** Resolves once the calls made so far are done (before the store closes). */
  settled(): Promise<void>;
}

type ConfigCustomer = Config["customers"][number];

export function createProfileRecorder(deps: ProfileRecorderDeps): ProfileRecorder {
  const { store, log } = deps;
  const now = deps.now ?? Date.now;
  /** The last stored profile text per customer, as far as this process knows. */
  let stored: Map<string, string> | undefined;
  /** Profile text per customer object, for one `serviceTypes` (registry versions share objects). */
  let texts: { of: Config["serviceTypes"]; by: WeakMap<ConfigCustomer, string> } | undefined;
  let chain: Promise<unknown> = Promise.resolve();

  async function latest(): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const r of await store.billingProfiles({ latest: true })) {
      // Read through the parser, so that text stored by another version of flowtally compares
      // by its values (keys sorted), not by its spelling.
      const { history } = profileHistory([r]);
      const v = history[0];
      if (v !== undefined) out.set(r.customer, profileText(v.profile));
    }
    return out;
  }

  async function once(
    cfg: Pick<Readonly<Config>, "customers" | "serviceTypes">,
    fresh: boolean,
  ): Promise<number> {
    try {
      if (stored === undefined || fresh) stored = await latest();
      if (texts?.of !== cfg.serviceTypes) texts = { of: cfg.serviceTypes, by: new WeakMap() };
      const resolve = billingResolver(cfg);
      const fromMs = now();
      const rows: Array<{ customer: string; fromMs: number; profile: string }> = [];
      for (const c of cfg.customers) {
        let text = texts.by.get(c);
        if (text === undefined) {
          text = profileText(customerProfile(resolve(c.id, c.serviceType), c));
          texts.by.set(c, text);
        }
        if (stored.get(c.id) !== text) rows.push({ customer: c.id, fromMs, profile: text });
      }
      if (rows.length === 0) return 0;
      await store.putBillingProfiles(rows);
      for (const r of rows) stored.set(r.customer, r.profile);
      log.info(
        { versions: rows.length, from: new Date(fromMs).toISOString() },
        "billing profiles stored: new versions in force from now",
      );
      return rows.length;
    } catch (e) {
      stored = undefined;
      log.warn({ err: e }, "billing profiles not stored (tried again at the next change or start)");
      return 0;
    }
  }

  type Args = { cfg: Parameters<ProfileRecorder["record"]>[0]; fresh: boolean };
  /**
   * The call waiting for the one running, if any: a newer call takes its place (the newest
   * customers win; a profile that lasted only until the next version is not stored), so a burst
   * of registry versions costs one walk of the customers after the running one, not one each.
   */
  let waiting: { args: Args; done: Promise<number> } | undefined;

  return {
    record(cfg, fresh = false) {
      if (waiting !== undefined) {
        waiting.args = { cfg, fresh: fresh || waiting.args.fresh };
        return waiting.done;
      }
      const next: { args: Args; done: Promise<number> } = {
        args: { cfg, fresh },
        done: chain.then(() => {
          waiting = undefined;
          return once(next.args.cfg, next.args.fresh);
        }),
      };
      waiting = next;
      chain = next.done;
      return next.done;
    },
    settled: () => chain.then(() => undefined),
  };
}
