/**
 * Checks that need the whole customer model, after the schema has checked each field: ids are
 * unique where they must be, prefixes parse and are not given to two links, and every link can
 * be matched. Each problem names its path and the reason, like schema errors. The customer rules
 * ({@link validateCustomers}) are the one implementation the customer registry (registry/) runs
 * on its snapshots too, naming records by id there.
 *
 * One pass that allocates little per link: a config of 100 000 customers goes through here at
 * every start, so paths are only formatted for problems. Link prefixes are parsed and collected
 * by collector/classify/link-prefixes.ts, which the customer model then reuses.
 */
import { linkPrefixes } from "../collector/classify/link-prefixes.js";
import { parsePrefix } from "../collector/classify/prefix-table.js";
import { parseExporterPrefix } from "../collector/exporter-allowlist.js";
import type { Config } from "../schema/config.js";
import { formatPath } from "./path.js";

/**
 * What the customer rules read of a customer tree: the config's `customers`, or a registry
 * snapshot (registry/), which has more fields and checks its records with the same zod schemas.
 */
export type CustomerTree = ReadonlyArray<{
  readonly id: string;
  readonly sites: ReadonlyArray<{
    readonly id: string;
    readonly links: ReadonlyArray<{
      readonly id: string;
      readonly prefixes: readonly string[];
      readonly router?: string | undefined;
      readonly ifIndex?: number | undefined;
    }>;
  }>;
}>;

/**
 * How a problem names a customer, site or link (the path before `.id`, `.prefixes[0]`): by
 * position in the config (`customers[3].sites[0].links[1]`), or by ids in the registry.
 */
export type RecordPath = (customer: number, site?: number, link?: number) => string;

/** `customers[3].sites[0].links[1]`: the config's form. */
export const configRecordPath: RecordPath = (customer, site, link) =>
  formatPath(
    site === undefined
      ? ["customers", customer]
      : link === undefined
        ? ["customers", customer, "sites", site]
        : ["customers", customer, "sites", site, "links", link],
  );

export function validateModel(cfg: Config): string[] {
  const problems = validateCustomers(cfg.customers);
  const at = (path: PropertyKey[], reason: string): void => {
    problems.push(`${formatPath(path)}: ${reason}`);
  };

  for (const kind of ["netflow", "sflow"] as const) {
    cfg.inputs[kind].forEach((input, k) => {
      (input.allowedExporters ?? []).forEach((text, pi) => {
        const p = parseExporterPrefix(text);
        if ("error" in p) at(["inputs", kind, k, "allowedExporters", pi], p.error);
      });
    });
  }

  // Bills: unique ids, links of the customer's own, a link in one bill at most.
  cfg.customers.forEach((c, ci) => {
    const bills = c.billing?.bills ?? [];
    for (const [first, k] of duplicates(bills, (b) => b.id)) {
      at(
        ["customers", ci, "billing", "bills", k, "id"],
        `"${bills[k]!.id}" is also the id of bills[${first}]`,
      );
    }
    const links = new Set(c.sites.flatMap((s) => s.links.map((l) => `${s.id}/${l.id}`)));
    const billOf = new Map<string, number>();
    bills.forEach((b, bi) => {
      b.links.forEach((ref, li) => {
        const path = ["customers", ci, "billing", "bills", bi, "links", li];
        if (!links.has(ref)) at(path, `"${ref}" is no link of customer ${c.id} (site/link)`);
        else if (billOf.has(ref)) at(path, `"${ref}" is also billed in bills[${billOf.get(ref)}]`);
        else billOf.set(ref, bi);
      });
    });
  });

  for (const [first, k] of duplicates(cfg.classes, (c) => c.id)) {
    at(["classes", k, "id"], `"${cfg.classes[k]!.id}" is also the id of classes[${first}]`);
  }
  cfg.classes.forEach((cls, k) => {
    if (cls.id === cfg.defaultClass) {
      at(["classes", k, "id"], `"${cls.id}" is the defaultClass: the default class has no rules`);
    }
    (cls.match.remotePrefixes ?? []).forEach((text, pi) => {
      const p = parsePrefix(text);
      if ("error" in p) {
        at(["classes", k, "match", "remotePrefixes", pi], `"${text}" is not a prefix: ${p.error}`);
      }
    });
  });
  return problems;
}

/**
 * The rules over the whole customer tree, for the config and the registry alike: ids unique
 * among their siblings, router and ifIndex together and not given to two links, every link
 * matchable, and every prefix parsing and owned once (naming both owners).
 */
export function validateCustomers(
  customers: CustomerTree,
  recordPath: RecordPath = configRecordPath,
): string[] {
  const problems: string[] = [];
  const at = (where: string, reason: string): void => {
    problems.push(`${where}: ${reason}`);
  };

  for (const [first, k] of duplicates(customers, (c) => c.id)) {
    at(`${recordPath(k)}.id`, `"${customers[k]!.id}" is also the id of ${recordPath(first)}`);
  }
  const interfaceOwner = new Map<string, [number, number, number]>();
  for (let ci = 0; ci < customers.length; ci++) {
    const sites = customers[ci]!.sites;
    for (const [first, k] of duplicates(sites, (s) => s.id)) {
      at(`${recordPath(ci, k)}.id`, `"${sites[k]!.id}" is also the id of sites[${first}]`);
    }
    for (let si = 0; si < sites.length; si++) {
      const links = sites[si]!.links;
      for (const [first, k] of duplicates(links, (l) => l.id)) {
        at(`${recordPath(ci, si, k)}.id`, `"${links[k]!.id}" is also the id of links[${first}]`);
      }
      for (let li = 0; li < links.length; li++) {
        const link = links[li]!;
        const prefixes = link.prefixes;
        if ((link.router === undefined) !== (link.ifIndex === undefined)) {
          at(recordPath(ci, si, li), "router and ifIndex go together: give both or neither");
        } else if (link.router !== undefined) {
          const key = `${link.router}|${link.ifIndex}`;
          const owner = interfaceOwner.get(key);
          if (owner !== undefined) {
            at(
              recordPath(ci, si, li),
              `router ${link.router} ifIndex ${link.ifIndex} is also ${recordPath(...owner)}`,
            );
          } else interfaceOwner.set(key, [ci, si, li]);
        } else if (prefixes.length === 0) {
          at(recordPath(ci, si, li), "has no prefixes and no router/ifIndex: nothing can match it");
        }
      }
    }
  }

  // Parsed and collected once, for the customer model too (collector/classify/link-prefixes.ts).
  const prefixProblems = linkPrefixes(customers).problems;
  // Where each link is, only to name the links of problems (300 000 numbers otherwise).
  const linkAt = prefixProblems.length === 0 ? [] : linkPositions(customers);
  const prefixPath = (link: number, position: number): string =>
    `${recordPath(linkAt[3 * link]!, linkAt[3 * link + 1]!, linkAt[3 * link + 2]!)}.prefixes[${position}]`;
  for (const p of prefixProblems) {
    at(
      prefixPath(p.link, p.position),
      "error" in p
        ? `"${p.text}" is not a prefix: ${p.error}`
        : `"${p.text}" is also given to ${prefixPath(p.firstLink, p.firstPosition)}`,
    );
  }
  return problems;
}

/** By link number (as the customer model numbers links): its customer, site and link index. */
function linkPositions(customers: CustomerTree): number[] {
  const at: number[] = [];
  customers.forEach((c, ci) => {
    c.sites.forEach((s, si) => {
      s.links.forEach((_, li) => {
        at.push(ci, si, li);
      });
    });
  });
  return at;
}

/** [index of the first occurrence, index of the repeat] for each repeated id. */
function duplicates<T>(items: readonly T[], id: (item: T) => string): Array<[number, number]> {
  if (items.length < 2) return [];
  const seen = new Map<string, number>();
  const out: Array<[number, number]> = [];
  for (let k = 0; k < items.length; k++) {
    const v = id(items[k]!);
    const first = seen.get(v);
    if (first === undefined) seen.set(v, k);
    else out.push([first, k]);
  }
  return out;
}
