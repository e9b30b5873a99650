/**
 * HTML templates that escape by default: `html` is a tagged template whose every interpolated
 * value is escaped (text and attribute values alike: & < > " ' are replaced), unless it is
 * already Html (another template's result, or `trusted` for markup this code wrote itself).
 * Arrays are joined; null, undefined and false render nothing. Pure.
 */

const HTML_BRAND: unique symbol = Symbol("html");

/** Markup that is safe to put in a page as is. */
export interface Html {
  readonly [HTML_BRAND]: true;
  readonly text: string;
}

const ESCAPES: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** Text with & < > " ' replaced by their character references: safe in text and quoted attributes. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

export function isHtml(v: unknown): v is Html {
  return typeof v === "object" && v !== null && (v as Html)[HTML_BRAND] === true;
}

/** Markup written by this code (never a value from a request, a config or a store). */
export function trusted(text: string): Html {
  return { [HTML_BRAND]: true, text };
}

export type HtmlValue = Html | string | number | boolean | null | undefined | readonly HtmlValue[];

function render(v: HtmlValue): string {
  if (v === null || v === undefined || v === false) return "";
  if (Array.isArray(v)) return v.map(render).join("");
  if (isHtml(v)) return v.text;
  return escapeHtml(String(v));
}

/** The template tag: `html\`<p title="${title}">${text}</p>\``, every value escaped. */
export function html(strings: TemplateStringsArray, ...values: readonly HtmlValue[]): Html {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i += 1) out += render(values[i]) + strings[i + 1]!;
  return trusted(out);
}
