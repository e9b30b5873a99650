/**
 * The box a wide table scrolls in sideways (the page itself never does). A box that scrolls must
 * be reachable from the keyboard, so it is focusable (tabindex 0) and named as a region: a
 * keyboard user tabs to it and scrolls it with the arrow keys (WCAG 2.1.1; axe-core's
 * scrollable-region-focusable).
 */
import { type Html, html } from "./html.js";

export function tableWrap(label: string, table: Html, attributes: Html = html``): Html {
  return html`<div class="table-wrap" tabindex="0" role="region" aria-label="${label}"${attributes}>${table}</div>`;
}
