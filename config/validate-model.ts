/**
 * Checks that need the whole customer model, after the schema has checked each field: ids are
 * unique where they must be, prefixes parse and are not given to two links, and every link can
 * be matched. Each problem names its path and the reason, like schema errors.
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

export function validateModel(cfg: Config): string[] {
  const problems: string[] = [];
  const at = (path: PropertyKey[], reason: string): void => {
    problems.push(`${formatPath(path)}: ${reason}`);
  };

  for (const [first, k] of duplicates(cfg.customers, (c) => c.id)) {
    at(["customers", k, "id"], `"${cfg.customers[k]!.id}" is also the id of customers[${first}]`);
  }
  /** By link number (as the customer model numbers links): its customer, site and link index. */
  const linkAt: number[] = [];
  const prefixPath = (link: number, position: number): PropertyKey[] => [
    "customers",
    linkAt[3 * link]!,
    "sites",
    linkAt[3 * link + 1]!,
    "links",
    linkAt[3 * link + 2]!,
    "prefixes",
    position,
  ];
  const interfaceOwner = new Map<string, PropertyKey[]>();
  const customers = cfg.customers;
  for (let ci = 0; ci < customers.length; ci++) {
    const sites = customers[ci]!.sites;
    for (const [first, k] of duplicates(sites, (s) => s.id)) {
      at(
        ["customers", ci, "sites", k, "id"],
        `"${sites[k]!.id}" is also the id of sites[${first}]`,
      );
    }
    for (let si = 0; si < sites.length; si++) {
      const links = sites[si]!.links;
      for (const [first, k] of duplicates(links, (l) => l.id)) {
        at(
          ["customers", ci, "sites", si, "links", k, "id"],
          `"${links[k]!.id}" is also the id of links[${first}]`,
        );
      }
      for (let li = 0; li < links.length; li++) {
        const link = links[li]!;
        const linkPath = (): PropertyKey[] => ["customers", ci, "sites", si, "links", li];
        const prefixes = link.prefixes;
        linkAt.push(ci, si, li);
        if ((link.router === undefined) !== (link.ifIndex === undefined)) {
          at(linkPath(), "router and ifIndex go together: give both or neither");
        } else if (link.router !== undefined) {
          const key = `${link.router}|${link.ifIndex}`;
          const owner = interfaceOwner.get(key);
          if (owner !== undefined) {
            at(
              linkPath(),
              `router ${link.router} ifIndex ${link.ifIndex} is also ${formatPath(owner)}`,
            );
          } else interfaceOwner.set(key, linkPath());
        } else if (prefixes.length === 0) {
          at(linkPath(), "has no prefixes and no router/ifIndex: nothing can match it");
        }
      }
    }
  }

  // Parsed and collected once, for the customer model too (collector/classify/link-prefixes.ts).
  for (const p of linkPrefixes(customers).problems) {
    at(
      prefixPath(p.link, p.position),
      "error" in p
        ? `"${p.text}" is not a prefix: ${p.error}`
        : `"${p.text}" is also given to ${formatPath(prefixPath(p.firstLink, p.firstPosition))}`,
    );
  }

  for (const kind of ["netflow", "sflow"] as const) {
    cfg.inputs[kind].forEach((input, k) => {
      (input.allowedExporters ?? []).forEach((text, pi) => {
        const p = parseExporterPrefix(text);
        if ("error" in p) at(["inputs", kind, k, "allowedExporters", pi], p.error);
      });
    });
  }

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
