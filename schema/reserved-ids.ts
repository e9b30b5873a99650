/**
 * Ids flowtally uses itself, in one place so that everything that accepts ids (the config, a
 * later customer registry) refuses the same ones. Compared without case: a customer
 * "Unattributed" would sit beside the pseudo-customer in the overview as if it were the same.
 *
 * Empty ids (the site and link of unattributed traffic are "") are refused by the id syntax
 * itself; a class named like `defaultClass` is refused by config/validate-model.ts, since that
 * name is configured.
 */
import { UNATTRIBUTED_CUSTOMER } from "./series-store.js";

export const reservedIds = {
  /** `unattributed`: the pseudo-customer of traffic that matches no link. */
  customer: [UNATTRIBUTED_CUSTOMER],
  site: [],
  link: [],
  class: [],
} as const satisfies Record<string, readonly string[]>;

export type IdKind = keyof typeof reservedIds;

const why: Record<string, string> = {
  [UNATTRIBUTED_CUSTOMER]: "the pseudo-customer of traffic that matches no link",
};

/** Why `id` may not be used for a `kind`, or undefined when it may. */
export function reservedIdProblem(kind: IdKind, id: string): string | undefined {
  const lower = id.toLowerCase();
  const taken = (reservedIds[kind] as readonly string[]).find((r) => r === lower);
  if (taken === undefined) return undefined;
  return `"${id}" is reserved: ${why[taken] ?? `flowtally uses it for a ${kind} of its own`}`;
}
