/**
 * The provider's portal templates of a config, read from their files (at start and at SIGHUP)
 * and parsed (template.ts): any file that cannot be read or holds an unknown placeholder or
 * refused markup fails the whole load, naming the setting, the file, the line and the reason.
 *
 * Which template a customer's page uses, first match: the config customer's own
 * (`customers[].portalTemplate`, a file), the registry customer's own (its `portalTemplate`, a
 * name of `portal.templates`), its service type's (`portal.serviceTypeTemplates`),
 * `portal.template`, else the built-in page. A registry customer's template is looked up at each
 * page, so a change of it through the API shows at the next page, without a restart.
 */
import { readFileSync } from "node:fs";
import type { Config } from "../../schema/config.js";
import { FlowtallyError } from "../../schema/errors.js";
import { DEFAULT_TEMPLATE } from "./default-template.js";
import { type PortalTemplate, parseTemplate, TemplateError } from "./template.js";

export interface PortalTemplates {
  /** The template of a customer's page. */
  of(customer: {
    id: string;
    serviceType: string;
    portalTemplate?: string | undefined;
  }): PortalTemplate;
  /** The files read (absolute), for the start log. */
  readonly files: readonly string[];
  /** The names of `portal.templates`, sorted: what a registry customer's `portalTemplate` may be. */
  readonly names: readonly string[];
}

/** The built-in page, parsed once. */
export const BUILT_IN = parseTemplate(DEFAULT_TEMPLATE, "(built-in)");

/** Reads and checks every template the config names; throws FT_CONFIG_INVALID naming the file. */
export function loadPortalTemplates(cfg: Readonly<Config>): PortalTemplates {
  const parsed = new Map<string, PortalTemplate>();
  const read = (setting: string, file: string): PortalTemplate => {
    const known = parsed.get(file);
    if (known !== undefined) return known;
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (e) {
      throw new FlowtallyError(
        "FT_CONFIG_INVALID",
        `${setting}: "${file}" cannot be read: ${(e as Error).message}`,
        { cause: e },
      );
    }
    try {
      const t = parseTemplate(text, file);
      parsed.set(file, t);
      return t;
    } catch (e) {
      if (!(e instanceof TemplateError)) throw e;
      throw new FlowtallyError("FT_CONFIG_INVALID", `${setting}: ${e.message}`, { cause: e });
    }
  };
  const global =
    cfg.portal.template === undefined ? BUILT_IN : read("portal.template", cfg.portal.template);
  const byType = new Map(
    Object.entries(cfg.portal.serviceTypeTemplates).map(([type, file]) => [
      type,
      read(`portal.serviceTypeTemplates.${type}`, file),
    ]),
  );
  const byName = new Map(
    Object.entries(cfg.portal.templates).map(([name, file]) => [
      name,
      read(`portal.templates.${name}`, file),
    ]),
  );
  const byCustomer = new Map<string, PortalTemplate>();
  cfg.customers.forEach((c, k) => {
    if (c.portalTemplate !== undefined) {
      byCustomer.set(c.id, read(`customers[${k}].portalTemplate`, c.portalTemplate));
    }
  });
  return {
    of: (c) =>
      byCustomer.get(c.id) ??
      (c.portalTemplate === undefined ? undefined : byName.get(c.portalTemplate)) ??
      byType.get(c.serviceType) ??
      global,
    files: [...parsed.keys()],
    names: [...byName.keys()].sort(),
  };
}
