/**
 * The provider's portal templates (docs/portal.md#provider-templates): HTML with `{{name}}`
 * placeholders for the signed-in customer's values, tables and graphs. Pure: a template's text in,
 * a parsed template (or an error naming the file, line and reason) out; a parsed template and the
 * page's values in, Html out.
 *
 * Safe by construction:
 * - names are a fixed list with no parameter: a template cannot name a customer, it always
 *   renders the one page's (the signed-in scope's) values;
 * - an unknown name is an error when the template is read (start, SIGHUP), not at a request;
 * - values are escaped (html.ts); fragments are this code's own escaped markup;
 * - a placeholder may stand in text or inside a quoted attribute value, never where it could
 *   start an attribute or a tag; in a URL attribute (href, src, …) only the `csv.*` URLs;
 * - the template's own markup may not hold what could run or load script or style against the
 *   Content-Security-Policy: `<script>`, `<style>`, `<iframe>`, `<object>`, `<embed>`, `<base>`,
 *   `<link>`, `<meta>`, `<form>`, an `on…=` or `style=` attribute, a `javascript:`, `vbscript:`
 *   or `data:` URL. Refused at load with the line, rather than stripped behind the provider's back.
 */
import { type Html, html, trusted } from "../html.js";

/** Escaped text values. */
export const valuePlaceholders = [
  "customer.id",
  "customer.name",
  "customer.serviceType",
  "provider.title",
  "provider.footer",
  "period.name",
  "period.label",
  "period.from",
  "period.to",
  "totals.down",
  "totals.up",
  "totals.down.bytes",
  "totals.up.bytes",
  "totals.down.rate",
  "totals.up.rate",
] as const;

/** URLs of the CSV downloads (the customer-scoped API's): text values allowed in href. */
export const urlPlaceholders = [
  "csv.links",
  "csv.classes",
  "csv.throughput",
  "csv.response",
  "csv.sla",
  "csv.billing",
] as const;

/** Rendered fragments: markup of this code, whose every value is escaped. */
export const fragmentPlaceholders = [
  "motd",
  "periods",
  "totals",
  "links",
  "classes",
  "sla",
  "graph.throughput",
  "graph.links",
  "graph.response",
  "csv",
] as const;

export type ValuePlaceholder = (typeof valuePlaceholders)[number];
export type UrlPlaceholder = (typeof urlPlaceholders)[number];
export type FragmentPlaceholder = (typeof fragmentPlaceholders)[number];
export type Placeholder = ValuePlaceholder | UrlPlaceholder | FragmentPlaceholder;

/** What a page gives a template: every placeholder's value. */
export type TemplateValues = Record<ValuePlaceholder | UrlPlaceholder, string> &
  Record<FragmentPlaceholder, Html>;

const KNOWN = new Set<string>([...valuePlaceholders, ...urlPlaceholders, ...fragmentPlaceholders]);
const FRAGMENTS = new Set<string>(fragmentPlaceholders);
const URLS = new Set<string>(urlPlaceholders);

export interface PortalTemplate {
  /** The file it was read from (for messages). */
  file: string;
  /** Literal markup and placeholders, in order. */
  parts: ReadonlyArray<{ text: string } | { name: Placeholder }>;
}

/** A template that cannot be used: the file, the line (1-based) and why. */
export class TemplateError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly reason: string,
  ) {
    super(`${file}:${line}: ${reason}`);
    this.name = "TemplateError";
  }
}

const REFUSED_ELEMENTS = [
  "script",
  "style",
  "iframe",
  "frame",
  "object",
  "embed",
  "base",
  "link",
  "meta",
  "form",
] as const;
const URL_ATTRIBUTES = new Set([
  "href",
  "src",
  "action",
  "formaction",
  "poster",
  "srcset",
  "xlink:href",
  "data",
]);
const BAD_URL = /^(?:javascript|vbscript|data):/;

/** An attribute value as a browser reads it for the scheme: entities decoded, blanks dropped. */
function urlScheme(value: string): string {
  return value
    .replace(/&#x([0-9a-f]+);?/gi, (_, h: string) => String.fromCodePoint(Number.parseInt(h, 16)))
    .replace(/&#([0-9]+);?/g, (_, d: string) => String.fromCodePoint(Number(d)))
    .replace(/&colon;/gi, ":")
    .replace(/&tab;|&newline;/gi, "")
    .split("")
    .filter((c) => c.charCodeAt(0) > 0x20)
    .join("")
    .toLowerCase();
}

/**
 * Parses and checks a template. Throws TemplateError (file, line, reason) for an unknown or
 * misplaced placeholder, an unclosed `{{`, or markup the CSP would refuse.
 */
export function parseTemplate(text: string, file: string): PortalTemplate {
  const lineAt = (i: number) => text.slice(0, i).split("\n").length;
  const fail = (i: number, reason: string): never => {
    throw new TemplateError(file, lineAt(i), reason);
  };
  const parts: Array<{ text: string } | { name: Placeholder }> = [];
  // A small scanner: text, tags (with their attributes and quoted values), comments.
  let i = 0;
  let literal = "";
  /** Where a placeholder is: text, a quoted value of this attribute, or elsewhere in a tag. */
  let context: { kind: "text" } | { kind: "value"; attribute: string } | { kind: "tag" } = {
    kind: "text",
  };
  let quote = "";
  let attribute = "";
  let attributeValue = "";
  let attributeStart = 0;
  const flush = () => {
    if (literal !== "") parts.push({ text: literal });
    literal = "";
  };
  const endValue = () => {
    if (URL_ATTRIBUTES.has(attribute) && BAD_URL.test(urlScheme(attributeValue))) {
      fail(
        attributeStart,
        `the ${attribute} attribute holds a ${urlScheme(attributeValue).split(":")[0]}: URL, which the portal refuses (no script in templates)`,
      );
    }
  };
  while (i < text.length) {
    if (text.startsWith("{{", i)) {
      const end = text.indexOf("}}", i + 2);
      if (end < 0) fail(i, "{{ without a closing }}");
      const name = text.slice(i + 2, end).trim();
      if (!KNOWN.has(name)) {
        fail(
          i,
          `unknown placeholder {{${name.slice(0, 60)}}}; known: ${[...KNOWN].map((n) => `{{${n}}}`).join(", ")}`,
        );
      }
      if (context.kind === "tag") {
        fail(i, `{{${name}}} inside a tag must be in a quoted attribute value ("…")`);
      }
      if (context.kind === "value") {
        if (FRAGMENTS.has(name)) {
          fail(i, `{{${name}}} is a rendered fragment: put it in the text, not in an attribute`);
        }
        if (URL_ATTRIBUTES.has(context.attribute) && !URLS.has(name)) {
          fail(
            i,
            `{{${name}}} cannot be a URL (the ${context.attribute} attribute): only ${urlPlaceholders.map((n) => `{{${n}}}`).join(", ")}`,
          );
        }
        attributeValue += "x";
      }
      flush();
      parts.push({ name: name as Placeholder });
      i = end + 2;
      continue;
    }
    const c = text[i]!;
    if (context.kind === "text") {
      if (text.startsWith("<!--", i)) {
        const end = text.indexOf("-->", i + 4);
        if (end < 0) fail(i, "<!-- without a closing -->");
        literal += text.slice(i, end + 3);
        i = end + 3;
        continue;
      }
      const tag = /^<\/?([a-zA-Z][a-zA-Z0-9:-]*)/.exec(text.slice(i, i + 40));
      if (tag !== null) {
        const element = tag[1]!.toLowerCase();
        if ((REFUSED_ELEMENTS as readonly string[]).includes(element)) {
          fail(
            i,
            `<${element}> is not allowed in a portal template (the Content-Security-Policy allows no script or style from a template; use the stylesheet's classes and portal.branding)`,
          );
        }
        context = { kind: "tag" };
        literal += tag[0];
        i += tag[0].length;
        continue;
      }
      literal += c;
      i += 1;
      continue;
    }
    if (context.kind === "tag") {
      if (c === ">") {
        context = { kind: "text" };
        literal += c;
        i += 1;
        continue;
      }
      const attr = /^[\s/]+([^\s"'<>/={}]+)(\s*=\s*)?/.exec(text.slice(i, i + 200));
      if (attr !== null) {
        attribute = attr[1]!.toLowerCase();
        attributeStart = i;
        if (/^on/.test(attribute)) {
          fail(i, `the ${attribute} attribute is an event handler: no script in templates`);
        }
        if (attribute === "style" || attribute === "srcdoc") {
          fail(
            i,
            `the ${attribute} attribute is not allowed (the Content-Security-Policy applies no inline style or document)`,
          );
        }
        literal += attr[0];
        i += attr[0].length;
        if (attr[2] !== undefined) {
          const q = text[i];
          if (q === '"' || q === "'") {
            quote = q;
            attributeValue = "";
            context = { kind: "value", attribute };
            literal += q;
            i += 1;
          } else {
            // An unquoted value: read to the next blank or >, no placeholder allowed in it.
            const v = /^[^\s>]*/.exec(text.slice(i))![0];
            if (v.includes("{{"))
              fail(
                i,
                `the ${attribute} attribute's value must be quoted ("…") to hold a placeholder`,
              );
            attributeValue = v;
            endValue();
            literal += v;
            i += v.length;
          }
        }
        continue;
      }
      literal += c;
      i += 1;
      continue;
    }
    // In a quoted attribute value.
    if (c === quote) {
      endValue();
      context = { kind: "tag" };
    } else {
      attributeValue += c;
    }
    literal += c;
    i += 1;
  }
  if (context.kind !== "text") fail(text.length, "the template ends inside a tag");
  flush();
  return { file, parts };
}

/** The template with the page's values: values escaped, fragments as they are. */
export function renderTemplate(t: PortalTemplate, values: TemplateValues): Html {
  return html`${t.parts.map((p) =>
    "text" in p
      ? trusted(p.text)
      : FRAGMENTS.has(p.name)
        ? values[p.name as FragmentPlaceholder]
        : values[p.name as ValuePlaceholder | UrlPlaceholder],
  )}`;
}
