import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { validateConfig } from "../../config/load-config.js";
import { html } from "../html.js";
import {
  fragmentPlaceholders,
  parseTemplate,
  renderTemplate,
  TemplateError,
  type TemplateValues,
  urlPlaceholders,
  valuePlaceholders,
} from "./template.js";
import { BUILT_IN, loadPortalTemplates } from "./templates.js";

/** Every placeholder's value: its own name (text), or a marked fragment. */
function values(over: Partial<TemplateValues> = {}): TemplateValues {
  const v = {} as Record<string, unknown>;
  for (const n of [...valuePlaceholders, ...urlPlaceholders]) v[n] = `[${n}]`;
  for (const n of fragmentPlaceholders) v[n] = html`<div data-fragment="${n}"></div>`;
  return { ...(v as TemplateValues), ...over };
}

const refused = (text: string) => {
  try {
    parseTemplate(text, "t.html");
  } catch (e) {
    expect(e).toBeInstanceOf(TemplateError);
    return (e as TemplateError).message;
  }
  throw new Error(`accepted: ${text}`);
};

describe("portal templates", () => {
  it("renders values escaped and fragments as they are", () => {
    const t = parseTemplate(
      '<h1 title="{{customer.name}}">{{ customer.name }}</h1>\n<a href="{{csv.links}}">CSV</a>{{links}}',
      "t.html",
    );
    const out = renderTemplate(
      t,
      values({
        "customer.name": `<script>alert("x")</script> & "Co" onload=x`,
        "csv.links": "/a?b=1&c=2",
      }),
    ).text;
    expect(out).toBe(
      '<h1 title="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &quot;Co&quot; onload=x">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &quot;Co&quot; onload=x</h1>\n<a href="/a?b=1&amp;c=2">CSV</a><div data-fragment="links"></div>',
    );
  });

  it("refuses an unknown placeholder, naming the file, the line and the name", () => {
    const m = refused("<p>fine</p>\n<p>{{customer.name}}</p>\n<p>{{customer.password}}</p>");
    expect(m).toMatch(/^t\.html:3: unknown placeholder \{\{customer\.password\}\}; known: /);
    // No parameter can name another customer.
    expect(refused("{{customer.name beta}}")).toMatch(/unknown placeholder/);
    expect(refused('{{links id="beta"}}')).toMatch(/unknown placeholder/);
    expect(refused("<p>{{customer.name</p>")).toMatch(/^t\.html:1: \{\{ without a closing \}\}/);
  });

  it("refuses script, event handlers, javascript: URLs and inline style at load", () => {
    expect(refused("<p>\n<SCRIPT src=/x.js></script>")).toMatch(
      /^t\.html:2: <script> is not allowed/,
    );
    expect(refused('<img src="/a.png" onerror="alert(1)">')).toMatch(
      /onerror attribute is an event handler/,
    );
    expect(refused("<body onload=alert(1)>")).toMatch(/onload attribute is an event handler/);
    expect(refused("<svg/onload=alert(1)>")).toMatch(/onload attribute is an event handler/);
    expect(refused('<a href="javascript:alert(1)">x</a>')).toMatch(/javascript: URL/);
    expect(refused('<a href=" jav&#x61;script&colon;alert(1)">x</a>')).toMatch(/javascript: URL/);
    expect(refused("<a href=JavaScript:alert(1)>x</a>")).toMatch(/javascript: URL/);
    expect(refused('<iframe src="/x"></iframe>')).toMatch(/<iframe> is not allowed/);
    expect(refused('<p style="color:red">x</p>')).toMatch(/style attribute is not allowed/);
    expect(refused("<style>p{}</style>")).toMatch(/<style> is not allowed/);
    expect(refused('<object data="/x"></object>')).toMatch(/<object> is not allowed/);
  });

  it("allows a placeholder only in text or a quoted value, a URL only from csv.*", () => {
    expect(refused("<p {{customer.name}}>x</p>")).toMatch(/must be in a quoted attribute value/);
    expect(refused("<p class={{customer.name}}>x</p>")).toMatch(/must be quoted/);
    expect(refused('<a href="{{customer.name}}">x</a>')).toMatch(/cannot be a URL/);
    expect(refused('<p title="{{links}}">x</p>')).toMatch(/is a rendered fragment/);
    expect(refused("<p class='x'")).toMatch(/ends inside a tag/);
    // Comments and ordinary attributes pass.
    const t = parseTemplate(
      "<!-- <script> in a comment is text of the comment -->\n<p class='x' data-onx=\"1\">{{motd}}</p>",
      "ok.html",
    );
    expect(t.parts.length).toBe(3);
  });

  it("the worked example of docs/portal.md is a valid template", () => {
    const doc = readFileSync(new URL("../../docs/portal.md", import.meta.url), "utf8");
    const example = /```html\n([\s\S]*?)```/.exec(doc.split("### A worked example")[1]!)![1]!;
    const t = parseTemplate(example, "portal.html");
    const out = renderTemplate(t, values({ "customer.name": "<b>Acme</b>" })).text;
    expect(out).toContain("<h1>Hello, &lt;b&gt;Acme&lt;/b&gt;</h1>");
    expect(out).toContain('<a href="[csv.links]" download>');
  });

  it("the built-in page is a template of every fragment", () => {
    const names = BUILT_IN.parts.flatMap((p) => ("name" in p ? [p.name] : []));
    for (const f of fragmentPlaceholders) {
      expect(names).toContain(f);
    }
  });

  it("loads the config's templates: the customer's, its service type's, the global one", () => {
    const dir = mkdtempSync(join(tmpdir(), "ft-templates-"));
    const file = (name: string, text: string) => {
      writeFileSync(join(dir, name), text);
      return join(dir, name);
    };
    const customer = (id: string, serviceType: string, extra = {}) => ({
      id,
      name: id,
      serviceType,
      sites: [{ id: "s", links: [{ id: "l", prefixes: [`10.0.${id.length}.0/24`] }] }],
      ...extra,
    });
    const cfg = validateConfig({
      portal: {
        template: file("all.html", "<p>all {{customer.name}}</p>"),
        serviceTypeTemplates: { business: file("business.html", "<p>business</p>") },
      },
      customers: [
        customer("a", "business", { portalTemplate: file("a.html", "<p>own</p>") }),
        customer("bb", "business"),
        customer("ccc", "home"),
      ],
    });
    const t = loadPortalTemplates(cfg);
    expect(t.of({ id: "a", serviceType: "business" }).file).toBe(join(dir, "a.html"));
    expect(t.of({ id: "bb", serviceType: "business" }).file).toBe(join(dir, "business.html"));
    expect(t.of({ id: "ccc", serviceType: "home" }).file).toBe(join(dir, "all.html"));
    // A registry customer (not in the config) picks by its service type.
    expect(t.of({ id: "zz", serviceType: "business" }).file).toBe(join(dir, "business.html"));

    const bad = validateConfig({
      portal: { template: file("bad.html", "<h1>{{customer.name}}</h1>\n\n{{customer.nmae}}") },
    });
    expect(() => loadPortalTemplates(bad)).toThrow(
      `portal.template: ${join(dir, "bad.html")}:3: unknown placeholder {{customer.nmae}}`,
    );
    const missing = validateConfig({ portal: { template: join(dir, "nope.html") } });
    expect(() => loadPortalTemplates(missing)).toThrow(
      /portal\.template: ".*nope\.html" cannot be read/,
    );
  });
});
