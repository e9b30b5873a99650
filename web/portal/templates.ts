/**
 * The provider's portal templates of a config, read from their files (at start and at SIGHUP)
 * and parsed (template.ts): any file that cannot be read or holds an unknown placeholder or
 * refused markup fails the whole load, naming the setting, the file, the line and the reason.
 *
 * Which template a customer's page uses, first match: the config customer's own
 * (`customers[].portalTemplate`), its service type's (`portal.serviceTypeTemplates`, the way a
 * registry customer picks one), `portal.template`, else the built-in page.
 */
import { readFileSync } from "node:fs";
import type { Config } from "../../schema/config.js";
import { FlowtallyError } from "../../schema/errors.js";
import { DEFAULT_TEMPLATE } from "./default-template.js";
import { type PortalTemplate, parseTemplate, TemplateError } from "./template.js";

export interface PortalTemplates {
  /** The template of a customer's page. */
  of(customer: { id: string; serviceType: string }): PortalTemplate;
  /** The files read (absolute), for the start log. */
  readonly files: readonly string[];
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
  const byCustomer = new Map<string, PortalTemplate>();
  cfg.customers.forEach((c, k) => {
    if (c.portalTemplate !== undefined) {
      byCustomer.set(c.id, read(`customers[${k}].portalTemplate`, c.portalTemplate));
    }
  });
  return {
    of: (c) => byCustomer.get(c.id) ?? byType.get(c.serviceType) ?? global,
    files: [...parsed.keys()],
  };
}
