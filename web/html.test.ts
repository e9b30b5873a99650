import { describe, expect, it } from "vitest";
import { escapeHtml, html, trusted } from "./html.js";

describe("html", () => {
  it("escapes every interpolated value, in text and attributes, unless it is Html", () => {
    const evil = `"><script>alert('x')</script>&`;
    const out =
      html`<a title="${evil}">${evil}</a>${trusted("<b>ok</b>")}${[1, "<i>"]}${null}${undefined}${false}`
        .text;
    expect(out).toBe(
      '<a title="&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;">&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;</a><b>ok</b>1&lt;i&gt;',
    );
    expect(escapeHtml("a&b")).toBe("a&amp;b");
    // Nested templates are not escaped twice.
    expect(html`<p>${html`<em>${"<"}</em>`}</p>`.text).toBe("<p><em>&lt;</em></p>");
  });
});
