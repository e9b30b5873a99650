/**
 * A customer's billing in force: its service type's `serviceTypes[].billing`, key by key
 * overridden by its own `customers[].billing`, then the defaults (max(in, out) from day 1, no
 * availability target, no credits). Customers of the database registry have no billing of their
 * own: they get their service type's. Pure (docs/sla.md "Billing per service type").
 */
import type { Config, CreditsConfig } from "../schema/config.js";
import type { PercentileOf } from "./commit-rate.js";

export interface Billing {
  percentileOf: PercentileOf;
  day: number;
  bills: ReadonlyArray<{ id: string; links: readonly string[]; commitRate: number }>;
  /** Each link's availability target, percent; undefined: none. */
  availabilityTarget?: number;
  credits?: CreditsConfig;
  monthlyFee?: number;
  currency?: string;
}

const SHARED_KEYS = [
  "percentileOf",
  "day",
  "availabilityTarget",
  "credits",
  "monthlyFee",
  "currency",
] as const;

/**
 * The billing of a customer by id and service type (the customer model's: config or registry).
 * Resolved once per customer and kept until the config changes (a new resolver per config).
 */
export function billingResolver(
  config: Pick<Readonly<Config>, "customers" | "serviceTypes">,
): (customer: string, serviceType: string | undefined) => Billing {
  const own = new Map(
    config.customers.flatMap((c) => (c.billing === undefined ? [] : [[c.id, c.billing] as const])),
  );
  const of = billingOfType(config.serviceTypes);
  return (customer, serviceType) => of(own.get(customer), serviceType);
}

type OwnBilling = NonNullable<Config["customers"][number]["billing"]>;

/**
 * The billing of a customer given its own `billing` (undefined for the registry's customers) and
 * its service type: what {@link billingResolver} answers, without a walk of every customer to
 * find the own billings (the billing-profile recorder resolves the few customers a registry
 * version changed).
 */
export function billingOfType(
  serviceTypes: Readonly<Config>["serviceTypes"],
): (own: OwnBilling | undefined, serviceType: string | undefined) => Billing {
  const byType = new Map(serviceTypes.map((t) => [t.id, t.billing] as const));
  return (mine, serviceType) => {
    const typed = serviceType === undefined ? undefined : byType.get(serviceType);
    const out: Billing = { percentileOf: "max", day: 1, bills: mine?.bills ?? [] };
    const put = out as unknown as Record<string, unknown>;
    for (const key of SHARED_KEYS) {
      const value = mine?.[key] ?? typed?.[key];
      if (value !== undefined) put[key] = value;
    }
    return out;
  };
}
