/**
 * The SLA endpoints (docs/api.md#sla): one customer's report, `GET /api/v1/customers/{id}/sla`,
 * and every customer's incidents for operators, `GET /api/v1/sla/breaches`. Each reads its query
 * string strictly, asks the store for the 1-minute SLA rows (and the 5-minute traffic samples of
 * each link) and renders what query/sla-report.ts makes of them. No HTTP here.
 */
import type { CustomerModel, LinkInfo } from "../../collector/classify/customer-model.js";
import type { Config } from "../../schema/config.js";
import type { LinkStatusRow, SeriesStore, SlaRow } from "../../schema/series-store.js";
import { type Billing, billingResolver } from "../../sla/billing.js";
import { configLevels } from "../../sla/config-levels.js";
import {
  billingPeriod,
  billRate,
  linkRate,
  type ProfileHistory,
  profileAt,
  profileHistory,
  profilePeriods,
  rateSteps,
} from "../../sla/index.js";
import { type DeclaredOutage, linkAvailability, reportCredits } from "../sla-availability.js";
import { breachIncidents } from "../sla-breaches.js";
import { breachesCsv, customerOutages, sortOutages } from "../sla-outages.js";
import { billSla, classSla, linkSla, rowsByClass, slaCsv } from "../sla-report.js";
import { badParameter, shown, unknownCustomer } from "./errors.js";
import { choice, isoTime, minuteRange, readParameters } from "./parameters.js";
import { type ApiReply, jsonReply, reply } from "./reply.js";
import { parameterNames, SlaBreachesQuery, SlaQuery } from "./schemas.js";

const DAY_MS = 86_400_000;
/** The longest range one request reads (1-minute rows): a year and a day. */
export const MAX_SLA_RANGE_DAYS = 366;
const SLA_PARAMETERS = parameterNames(SlaQuery);
const BREACH_PARAMETERS = parameterNames(SlaBreachesQuery);
const PERIOD = /^(\d{4})-(\d{2})$/;

export interface SlaEndpointDeps {
  config: Readonly<Config>;
  model: CustomerModel;
  now: () => number;
  seriesStore: () => SeriesStore;
  /** The customer's sites and links, "any" for a deleted customer with stored series, or undefined. */
  scopeOf: (
    customer: string,
  ) => Promise<ReadonlyMap<string, ReadonlySet<string>> | "any" | undefined>;
  /** The customer's declared outages overlapping [fromMs, toMs) (none without accounts). */
  outages?: (customer: string, fromMs: number, toMs: number) => Promise<DeclaredOutage[]>;
  /**
   * Every customer's, by customer then start, in one read (the breach list); without it the
   * breach list asks `outages` customer by customer.
   */
  allOutages?: (
    fromMs: number,
    toMs: number,
  ) => Promise<Array<DeclaredOutage & { customer: string }>>;
}

export interface SlaEndpoints {
  sla(customer: string, search: string): Promise<ApiReply>;
  slaBreaches(search: string): Promise<ApiReply>;
  /**
   * The customer's billing-profile versions as the reports read them (the graphs' commit-rate
   * line: a past range shows the rates in force then).
   */
  profileHistory(customer: string): Promise<ProfileHistory>;
  /** SIGHUP: the billing (serviceTypes, customers' own) and class levels of the new config. */
  reload(cfg: Readonly<Config>): void;
}

/** [from, to) of `period` (this-month, last-month, YYYY-MM) for a billing day. */
export function periodRange(
  period: string,
  nowMs: number,
  billingDay: number,
): { fromMs: number; toMs: number } {
  if (period === "this-month") return billingPeriod(nowMs, billingDay);
  if (period === "last-month")
    return billingPeriod(billingPeriod(nowMs, billingDay).fromMs - 1, billingDay);
  const m = PERIOD.exec(period);
  const year = Number(m?.[1]);
  const month = Number(m?.[2]);
  if (m === null || month < 1 || month > 12 || year < 1970) {
    throw badParameter(
      "period",
      `period ${shown(period)}: expected this-month, last-month or a month such as 2026-11`,
    );
  }
  return { fromMs: Date.UTC(year, month - 1, billingDay), toMs: Date.UTC(year, month, billingDay) };
}

/** The range of a request: `period`, or `from` and `to` (default: now), on whole minutes. */
function readRange(p: Map<string, string>, nowMs: number, billingDay: number) {
  const period = p.get("period");
  let fromMs: number | undefined;
  let toMs: number | undefined;
  if (period !== undefined) {
    if (p.has("from") || p.has("to")) {
      throw badParameter("period", "give either period or from (and to), not both");
    }
    ({ fromMs, toMs } = periodRange(period, nowMs, billingDay));
  } else {
    ({ fromMs, toMs } = minuteRange(p, nowMs, "from (or period) is required"));
  }
  if (toMs - fromMs > MAX_SLA_RANGE_DAYS * DAY_MS) {
    throw badParameter(
      period === undefined ? "to" : "period",
      `the range ${isoTime(fromMs)} to ${isoTime(toMs)} is longer than ${MAX_SLA_RANGE_DAYS} days`,
    );
  }
  return { fromMs, toMs };
}

export function createSlaEndpoints(deps: SlaEndpointDeps): SlaEndpoints {
  const { model, now } = deps;
  let levelNow = configLevels(deps.config);
  let resolve = billingResolver(deps.config);
  let typesIndexed: { of: CustomerModel["customers"]; by: Map<string, string> } | undefined;
  /** The customer's billing now: its own over its service type's (the model's: config or registry). */
  const billingOf = (customer: string): Billing => {
    if (typesIndexed?.of !== model.customers) {
      typesIndexed = {
        of: model.customers,
        by: new Map(model.customers.map((c) => [c.id, c.serviceType])),
      };
    }
    return resolve(customer, typesIndexed.by.get(customer));
  };
  let linksIndexed: { of: CustomerModel["links"]; by: Map<string, LinkInfo[]> } | undefined;
  const linksOf = (customer: string) => {
    if (linksIndexed?.of !== model.links) {
      const by = new Map<string, LinkInfo[]>();
      for (const l of model.links) {
        const list = by.get(l.customer);
        if (list === undefined) by.set(l.customer, [l]);
        else list.push(l);
      }
      linksIndexed = { of: model.links, by };
    }
    return linksIndexed.by.get(customer) ?? [];
  };

  /**
   * The customer's profile versions as stored (sla/billing-profile.ts); none stored (a store
   * written before profiles were, a process that stores none): its profile now, from always.
   */
  async function historyOf(store: SeriesStore, customer: string): Promise<ProfileHistory> {
    const { history } = profileHistory(await store.billingProfiles({ customer }));
    if (history.length > 0) return history;
    const commitRates: Record<string, number> = {};
    for (const l of linksOf(customer)) {
      if (l.commitRate !== undefined) commitRates[`${l.site}/${l.link}`] = l.commitRate;
    }
    return [
      {
        fromMs: Number.NEGATIVE_INFINITY,
        profile: { billing: billingOf(customer), commitRates },
      },
    ];
  }

  /** Classes in the model's order, then any other class the rows name. */
  function classOrder(byClass: ReadonlyMap<string, SlaRow[]>): string[] {
    const out = model.classIds.filter((c) => byClass.has(c) || levelNow(c) !== undefined);
    for (const c of [...byClass.keys()].sort()) if (!out.includes(c)) out.push(c);
    return out;
  }

  async function sla(customer: string, search: string): Promise<ApiReply> {
    const p = readParameters(search, SLA_PARAMETERS);
    const nowMs = now();
    const store = deps.seriesStore();
    const history = await historyOf(store, customer);
    const dayAt = (ms: number) => profileAt(history, ms)!.profile.billing.day;
    let { fromMs, toMs } = readRange(p, nowMs, dayAt(nowMs));
    // A period (this-month, YYYY-MM) runs from the billing day in force at its end.
    if (p.has("period") && dayAt(toMs - 1) !== dayAt(nowMs)) {
      ({ fromMs, toMs } = readRange(p, nowMs, dayAt(toMs - 1)));
    }
    // One value for the range: the version in force at its end; commit rates per window.
    const bill = profileAt(history, toMs - 1)!.profile.billing;
    const periods = profilePeriods(history, fromMs, toMs);
    const trafficClass = p.get("class");
    if (trafficClass !== undefined && !model.classIds.includes(trafficClass)) {
      throw badParameter(
        "class",
        `class ${shown(trafficClass)} is not a traffic class; expected one of ${model.classIds.join(", ")}`,
      );
    }
    const format = choice(p, "format", ["json", "csv"] as const, "json");
    const scope = await deps.scopeOf(customer);
    if (scope === undefined) throw unknownCustomer(customer);
    const rows = await store.slaRows({
      customer,
      fromMs,
      toMs,
      level: "1m",
      ...(trafficClass === undefined ? {} : { trafficClass }),
    });
    const byClass = rowsByClass(rows);
    const classes = (trafficClass === undefined ? classOrder(byClass) : [trafficClass]).map((c) =>
      classSla(c, byClass.get(c) ?? [], fromMs, toMs, levelNow(c)),
    );
    const myLinks = scope === "any" ? [] : linksOf(customer);
    const declared = (await deps.outages?.(customer, fromMs, toMs)) ?? [];
    const range = { fromMs, toMs, nowMs };
    const links = await Promise.all(
      myLinks.map(async (l) => ({
        ...linkSla(
          l,
          rateSteps(periods, linkRate(l.site, l.link)),
          await store.samples({ customer, site: l.site, link: l.link, fromMs, toMs, level: "5m" }),
          bill.percentileOf,
          range,
        ),
        availability: linkAvailability(
          l,
          await store.linkStatus({
            customer,
            site: l.site,
            link: l.link,
            fromMs,
            toMs,
            level: "1m",
          }),
          declared,
          range,
          bill.availabilityTarget,
        ),
      })),
    );
    // Bills of several links: their 5-minute samples summed per window before the percentile.
    const bills =
      scope === "any"
        ? []
        : await Promise.all(
            bill.bills.map(async (b) =>
              billSla(
                b,
                rateSteps(periods, billRate(b.id)),
                await Promise.all(
                  b.links.map((ref) => {
                    const [site, link] = ref.split("/") as [string, string];
                    return store.samples({ customer, site, link, fromMs, toMs, level: "5m" });
                  }),
                ),
                bill.percentileOf,
                range,
              ),
            ),
          );
    const owed = reportCredits(bill, range, links, classes);
    if (format === "csv") {
      const compact = (ms: number) => isoTime(ms).replace(/[-:]/g, "");
      return reply(200, slaCsv(classes, links, bills, owed.credits), "text/csv; charset=utf-8", {
        "content-disposition": `attachment; filename="flowtally-sla-${compact(fromMs)}-${compact(toMs)}.csv"`,
      });
    }
    return jsonReply(200, {
      customer,
      from: isoTime(fromMs),
      to: isoTime(toMs),
      inProgress: nowMs >= fromMs && nowMs < toMs,
      billing: bill,
      profiles: periods.map((x) => ({
        from: isoTime(x.fromMs),
        to: isoTime(x.toMs),
        billing: x.profile.billing,
        commitRates: x.profile.commitRates,
      })),
      classes,
      links,
      bills,
      ...owed,
    });
  }

  /** SIGHUP: the customers' billing and the classes' levels now, from the reloaded config. */
  function reload(cfg: Readonly<Config>): void {
    levelNow = configLevels(cfg);
    resolve = billingResolver(cfg);
  }

  /** Every customer's declared outages of the range, by customer (one read when it can). */
  async function declaredByCustomer(
    customers: readonly string[],
    fromMs: number,
    toMs: number,
  ): Promise<Map<string, DeclaredOutage[]>> {
    const out = new Map<string, DeclaredOutage[]>();
    if (deps.allOutages !== undefined) {
      for (const { customer, ...o } of await deps.allOutages(fromMs, toMs)) {
        const list = out.get(customer);
        if (list === undefined) out.set(customer, [o]);
        else list.push(o);
      }
    } else if (deps.outages !== undefined) {
      for (const c of customers) out.set(c, await deps.outages(c, fromMs, toMs));
    }
    return out;
  }

  async function slaBreaches(search: string): Promise<ApiReply> {
    const p = readParameters(search, BREACH_PARAMETERS);
    const { fromMs, toMs } = readRange(p, now(), 1);
    // Read before the store: a wrong format is a 400 whatever is stored.
    const format = choice(p, "format", ["json", "csv"] as const, "json");
    const store = deps.seriesStore();
    // Every customer at once: the store reduces the 1-minute rows to the minutes that can breach.
    const incidents = breachIncidents(await store.slaBreachMinutes({ fromMs, toMs }), levelNow);
    // Outages of the customers with links: declared ones and measured down periods.
    const customers = [...new Set(model.links.map((l) => l.customer))].sort();
    const declared = await declaredByCustomer(customers, fromMs, toMs);
    const down = new Map<string, LinkStatusRow[]>();
    for (const r of await store.downMinutes({ fromMs, toMs })) {
      const list = down.get(r.customer);
      if (list === undefined) down.set(r.customer, [r]);
      else list.push(r);
    }
    const outages = sortOutages(
      customers.flatMap((c) => customerOutages(c, declared.get(c) ?? [], down.get(c) ?? [])),
    );
    if (format === "csv") {
      const compact = (ms: number) => isoTime(ms).replace(/[-:]/g, "");
      return reply(200, breachesCsv(incidents, outages), "text/csv; charset=utf-8", {
        "content-disposition": `attachment; filename="flowtally-breaches-${compact(fromMs)}-${compact(toMs)}.csv"`,
      });
    }
    return jsonReply(200, { from: isoTime(fromMs), to: isoTime(toMs), incidents, outages });
  }

  return {
    sla,
    slaBreaches,
    profileHistory: (customer) => historyOf(deps.seriesStore(), customer),
    reload,
  };
}
