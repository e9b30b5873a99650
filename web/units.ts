/**
 * Figures for people with the exact figure beside them: the pages show `4.51 kB` with
 * title="4,511 bytes" (what the mouse shows on hover and a screen reader can reach). Pure.
 */
import { formatBitRate, formatBytes, formatCount } from "../schema/units.js";
import { type Html, html } from "./html.js";

const exact = (n: number) => n.toLocaleString("en-US");

export function bytesCell(n: number): Html {
  return html`<span title="${exact(n)} bytes">${formatBytes(n)}</span>`;
}

export function countCell(n: number, unit: string): Html {
  return html`<span title="${exact(n)} ${unit}">${formatCount(n)}</span>`;
}

export function rateCell(bitsPerSecond: number): Html {
  const rounded = Math.round(bitsPerSecond);
  return html`<span title="${exact(rounded)} bit/s">${formatBitRate(bitsPerSecond)}</span>`;
}
