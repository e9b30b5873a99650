/**
 * Checks that need the whole customer model, after the schema has checked each field: ids are
 * unique where they must be, prefixes parse and are not given to two links, and every link can
 * be matched. Each problem names its path and the reason, like schema errors.
 */
import { parsePrefix } from "../collector/classify/prefix-table.js";
import { parseExporterPrefix } from "../collector/exporter-allowlist.js";
import type { Config } from "../schema/config.js";
import { formatPath } from "./path.js";

export function validateModel(cfg: Config): string[] {
  const problems: string[] = [];
  const at = (path: PropertyKey[], reason: string): void => {
    problems.push(`${formatPath(path)}: ${reason}`);
  };

  for (const [first, k] of duplicates(cfg.customers.map((c) => c.id))) {
    at(["customers", k, "id"], `"${cfg.customers[k]!.id}" is also the id of customers[${first}]`);
  }
  const prefixOwner = new Map<string, PropertyKey[]>();
  const interfaceOwner = new Map<string, PropertyKey[]>();
  cfg.customers.forEach((customer, ci) => {
    for (const [first, k] of duplicates(customer.sites.map((s) => s.id))) {
      at(
        ["customers", ci, "sites", k, "id"],
        `"${customer.sites[k]!.id}" is also the id of sites[${first}]`,
      );
    }
    customer.sites.forEach((site, si) => {
      for (const [first, k] of duplicates(site.links.map((l) => l.id))) {
        at(
          ["customers", ci, "sites", si, "links", k, "id"],
          `"${site.links[k]!.id}" is also the id of links[${first}]`,
        );
      }
      site.links.forEach((link, li) => {
        const linkPath: PropertyKey[] = ["customers", ci, "sites", si, "links", li];
        link.prefixes.forEach((text, pi) => {
          const p = parsePrefix(text);
          if ("error" in p) {
            at([...linkPath, "prefixes", pi], `"${text}" is not a prefix: ${p.error}`);
            return;
          }
          const key = `${Array.from(p.bytes).join(".")}/${p.length}`;
          const owner = prefixOwner.get(key);
          if (owner !== undefined) {
            at([...linkPath, "prefixes", pi], `"${text}" is also given to ${formatPath(owner)}`);
          } else prefixOwner.set(key, [...linkPath, "prefixes", pi]);
        });
        if ((link.router === undefined) !== (link.ifIndex === undefined)) {
          at(linkPath, "router and ifIndex go together: give both or neither");
        } else if (link.router !== undefined) {
          const key = `${link.router}|${link.ifIndex}`;
          const owner = interfaceOwner.get(key);
          if (owner !== undefined) {
            at(
              linkPath,
              `router ${link.router} ifIndex ${link.ifIndex} is also ${formatPath(owner)}`,
            );
          } else interfaceOwner.set(key, linkPath);
        } else if (link.prefixes.length === 0) {
          at(linkPath, "has no prefixes and no router/ifIndex: nothing can match it");
        }
      });
    });
  });

  for (const kind of ["netflow", "sflow"] as const) {
    cfg.inputs[kind].forEach((input, k) => {
      (input.allowedExporters ?? []).forEach((text, pi) => {
        const p = parseExporterPrefix(text);
        if ("error" in p) at(["inputs", kind, k, "allowedExporters", pi], p.error);
      });
    });
  }

  for (const [first, k] of duplicates(cfg.classes.map((c) => c.id))) {
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

/** [index of the first occurrence, index of the repeat] for each repeated value. */
function duplicates(values: readonly string[]): Array<[number, number]> {
  const seen = new Map<string, number>();
  const out: Array<[number, number]> = [];
  values.forEach((v, k) => {
    const first = seen.get(v);
    if (first === undefined) seen.set(v, k);
    else out.push([first, k]);
  });
  return out;
}
