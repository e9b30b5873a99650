/**
 * Debian's Chromium for the browser tests (playwright-core's `executablePath`; installed by
 * `scripts/setup.sh --test`), with the flags that keep it off the network, and where the tests'
 * screenshots go: $FLOWTALLY_ARTIFACTS, default flowtally-web-artifacts in the temp directory.
 */
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";
/** Chromium without these keeps trying to reach the internet. */
export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
export const ARTIFACTS =
  process.env.FLOWTALLY_ARTIFACTS ?? join(tmpdir(), "flowtally-web-artifacts");

/** Full-page screenshots of `page` at 390 px (a phone) and 1920 px: `<name>-<width>.png`. */
export async function screenshots(page: Page, name: string): Promise<void> {
  for (const width of [390, 1920]) {
    await page.setViewportSize({ width, height: width === 390 ? 844 : 1080 });
    await page.waitForTimeout(150);
    await page.screenshot({ path: join(ARTIFACTS, `${name}-${width}.png`), fullPage: true });
  }
}
