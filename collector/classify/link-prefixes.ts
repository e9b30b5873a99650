/**
 * Every access link's prefixes, parsed and collected once: config validation reports their
 * problems from here, and the customer model takes its prefix table from the same collection
 * instead of parsing 150 000 prefixes a second time (a config of 100 000 customers).
 *
 * Links are numbered as the customer model numbers them: customers, sites, links in config
 * order. Kept per customers array once that array is frozen (a validated config): a later call
 * with the same array returns the same collection.
 */
import { formatPrefix, type PrefixTable, PrefixTableBuilder, parsePrefix } from "./prefix-table.js";
import { runSteps, type Steps } from "./steps.js";

export type LinkPrefixProblem = {
  /** The link's number, and the prefix's position in its `prefixes`. */
  link: number;
  position: number;
  text: string;
} & (
  | { error: string }
  /** The same prefix was given before, to this position of that link. */
  | { firstLink: number; firstPosition: number }
);

export interface LinkPrefixes {
  /** Prefixes that did not parse or were given before, in config order. */
  readonly problems: readonly LinkPrefixProblem[];
  /** The table of every prefix that parsed (the first owner of a repeated one), built once. */
  table(): PrefixTable;
  /** {@link table} in steps (the same table: made once, by whichever is asked first). */
  tableSteps(): Steps<PrefixTable>;
}

/** Customers whose prefixes are parsed in one step of {@link linkPrefixSteps} (~1 ms). */
const CUSTOMERS_PER_STEP = 1000;

const collected = new WeakMap<object, LinkPrefixes>();

/** What the collection reads of a customer tree: the config's customers, or a registry snapshot. */
export type PrefixedCustomers = ReadonlyArray<{
  readonly sites: ReadonlyArray<{
    readonly links: ReadonlyArray<{ readonly prefixes: readonly string[] }>;
  }>;
}>;

export function linkPrefixes(customers: PrefixedCustomers): LinkPrefixes {
  return runSteps(linkPrefixSteps(customers));
}

/** {@link linkPrefixes} in steps of a thousand customers. */
export function* linkPrefixSteps(customers: PrefixedCustomers): Steps<LinkPrefixes> {
  const known = Object.isFrozen(customers) ? collected.get(customers) : undefined;
  if (known !== undefined) return known;
  const builder = new PrefixTableBuilder();
  const problems: LinkPrefixProblem[] = [];
  const texts: Array<readonly string[]> = [];
  for (let ci = 0; ci < customers.length; ci++) {
    if (ci % CUSTOMERS_PER_STEP === CUSTOMERS_PER_STEP - 1) yield;
    for (const site of customers[ci]!.sites) {
      for (const l of site.links) {
        const link = texts.length;
        texts.push(l.prefixes);
        l.prefixes.forEach((text, position) => {
          const p = parsePrefix(text);
          if ("error" in p) {
            problems.push({ link, position, text, error: p.error });
            return;
          }
          const conflict = builder.add(p, link);
          if (conflict === undefined) return;
          // Rare: find which of the first link's prefixes this one repeats.
          const firstPosition = texts[conflict.existing]!.findIndex((t) => {
            const q = parsePrefix(t);
            return !("error" in q) && formatPrefix(q) === conflict.prefix;
          });
          problems.push({ link, position, text, firstLink: conflict.existing, firstPosition });
        });
      }
    }
  }
  let table: PrefixTable | undefined;
  const result: LinkPrefixes = {
    problems,
    table: () => {
      table ??= builder.build();
      return table;
    },
    *tableSteps() {
      table ??= yield* builder.buildSteps();
      return table;
    },
  };
  // Validation runs before the config is frozen, the model after: keep what validation made.
  collected.set(customers, result);
  return result;
}
