/**
 * Stores the customers' billing-profile versions (sla/billing-profile.ts, docs/sla.md "Profile
 * versions"): at start, at each SIGHUP and at each registry version, every customer whose
 * effective profile differs from the last one stored gets a version from now. Idempotent: a
 * profile equal to the stored one writes nothing, so many processes starting with one config
 * make one version (and two that race, storing the same profile at two moments, are read as one:
 * profileHistory keeps the first). A registry version is compared customer by customer only for
 * the customers it changed (a PATCH of one commit rate among 100 000 customers looks at one). The
 * thin I/O shell around the pure profile functions.
 */
import type { Logger } from "pino";
import type { Config } from "../schema/config.js";
import type { SeriesStore } from "../schema/series-store.js";
import { billingOfType } from "./billing.js";
import { customerProfile, profileHistory, profileText } from "./billing-profile.js";

export interface ProfileRecorderDeps {
  store: SeriesStore;
  log: Pick<Logger, "info" | "warn">;
  now?: () => number;
  /**
   * Writes at most one batch of versions this often (default 1 s): the versions of the registry
   * changes made meanwhile wait and join one write, so that a burst of changes (an import, an
   * API client adding customers) costs one commit of the store a second, not one per change.
   */
  minIntervalMs?: number;
}

type ConfigCustomer = Config["customers"][number];

/** The customers to record: a config, or a registry version (registry-runtime.ts AppliedRegistry). */
export interface ProfileSource {
  readonly config: Pick<Readonly<Config>, "customers" | "serviceTypes">;
  /**
   * The customers that may differ from those of `earlier` (a source recorded before; `after`
   * undefined: removed), or undefined when it does not tell: then every customer is compared.
   */
  changedSince?(earlier: ProfileSource):
    | ReadonlyArray<{
        readonly id: string;
        readonly after: ConfigCustomer | undefined;
      }>
    | undefined;
}

export interface ProfileRecorder {
  /**
   * Stores the versions of the source's customers (the registry's swapped in) that differ from
   * the last stored. `fresh`: read the last stored ones again first and compare every customer
   * (start and SIGHUP); otherwise a source that tells what changed since the one recorded last is
   * compared for those customers only. Calls run one after the other; calls made while one waits
   * for its turn join it, with the newest source. Answers how many versions it wrote; a store
   * failure is logged and answered as 0 (the next call reads and compares everything again).
   */
  record(source: ProfileSource, fresh?: boolean): Promise<number>;
  /**
   * Resolves once the calls made so far are done, a call waiting for its turn written at once
   * (before the store closes).
   */
  settled(): Promise<void>;
}

export function createProfileRecorder(deps: ProfileRecorderDeps): ProfileRecorder {
  const { store, log } = deps;
  const now = deps.now ?? Date.now;
  /** The last stored profile text per customer, as far as this process knows. */
  let stored: Map<string, string> | undefined;
  /** Profile text per customer object, for one `serviceTypes` (registry versions share objects). */
  let texts: { of: Config["serviceTypes"]; by: WeakMap<ConfigCustomer, string> } | undefined;
  /** The source whose customers `stored` holds (compared and written), if any. */
  let last: ProfileSource | undefined;
  let chain: Promise<unknown> = Promise.resolve();
  const minIntervalMs = deps.minIntervalMs ?? 1000;
  /** When the last write ended (performance.now()), and how to end the wait for the next. */
  let wroteAt = Number.NEGATIVE_INFINITY;
  let hurry: (() => void) | undefined;
  /** settled() calls waiting: meanwhile nothing waits for its turn. */
  let urgent = 0;

  /** Waits until the next write may go (minIntervalMs after the last), unless told to hurry. */
  function turn(): Promise<void> | undefined {
    const wait = wroteAt + minIntervalMs - performance.now();
    if (wait <= 0 || urgent > 0) return undefined;
    return new Promise((resolve) => {
      const timer = setTimeout(done, wait);
      function done() {
        clearTimeout(timer);
        hurry = undefined;
        resolve();
      }
      hurry = done;
    });
  }

  /** The last stored profile text per customer, as stored. */
  async function latest(): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const r of await store.billingProfiles({ latest: true })) out.set(r.customer, r.profile);
    return out;
  }

  /**
   * Whether stored text is the profile `text` stands for: equal text, or the same values written
   * otherwise (by another version of flowtally: keys in another order), read through the parser
   * only then, so that a start compares 100 000 stored profiles without parsing each.
   */
  function sameProfile(have: string | undefined, text: string): boolean {
    if (have === undefined) return false;
    if (have === text) return true;
    const v = profileHistory([{ fromMs: 0, profile: have }]).history[0];
    return v !== undefined && profileText(v.profile) === text;
  }

  async function once(source: ProfileSource, fresh: boolean): Promise<number> {
    const cfg = source.config;
    try {
      if (stored === undefined || fresh) {
        stored = await latest();
        last = undefined;
      }
      if (texts?.of !== cfg.serviceTypes) {
        texts = { of: cfg.serviceTypes, by: new WeakMap() };
        last = undefined;
      }
      const changes = last === undefined ? undefined : source.changedSince?.(last);
      const billing = billingOfType(cfg.serviceTypes);
      const fromMs = now();
      const rows: Array<{ customer: string; fromMs: number; profile: string }> = [];
      const compare = (c: ConfigCustomer) => {
        let text = texts!.by.get(c);
        if (text === undefined) {
          text = profileText(customerProfile(billing(c.billing, c.serviceType), c));
          texts!.by.set(c, text);
        }
        const have = stored!.get(c.id);
        if (have === text) return;
        // Stored otherwise: the same profile is then kept in our spelling (compared once).
        if (sameProfile(have, text)) stored!.set(c.id, text);
        else rows.push({ customer: c.id, fromMs, profile: text });
      };
      // A removed customer's versions stay (its reports read them until retention).
      if (changes === undefined) for (const c of cfg.customers) compare(c);
      else for (const { after } of changes) if (after !== undefined) compare(after);
      if (rows.length > 0) {
        await store.putBillingProfiles(rows);
        wroteAt = performance.now();
      }
      for (const r of rows) stored.set(r.customer, r.profile);
      last = source;
      if (rows.length === 0) return 0;
      log.info(
        { versions: rows.length, from: new Date(fromMs).toISOString() },
        "billing profiles stored: new versions in force from now",
      );
      return rows.length;
    } catch (e) {
      stored = undefined;
      last = undefined;
      log.warn({ err: e }, "billing profiles not stored (tried again at the next change or start)");
      return 0;
    }
  }

  type Args = { source: ProfileSource; fresh: boolean };
  /**
   * The call waiting for the one running, if any: a newer call takes its place (the newest
   * customers win; a profile that lasted only until the next version is not stored), so a burst
   * of registry versions costs one walk of the customers after the running one, not one each.
   */
  let waiting: { args: Args; done: Promise<number> } | undefined;

  return {
    record(source, fresh = false) {
      if (waiting !== undefined) {
        waiting.args = { source, fresh: fresh || waiting.args.fresh };
        return waiting.done;
      }
      const next: { args: Args; done: Promise<number> } = {
        args: { source, fresh },
        done: chain.then(turn).then(() => {
          waiting = undefined;
          return once(next.args.source, next.args.fresh);
        }),
      };
      waiting = next;
      chain = next.done;
      return next.done;
    },
    settled: () => {
      // What waits for its turn is written now, and what is queued behind it (a stop).
      urgent += 1;
      hurry?.();
      const done = chain.then(() => undefined);
      const over = () => {
        urgent -= 1;
      };
      done.then(over, over);
      return done;
    },
  };
}
