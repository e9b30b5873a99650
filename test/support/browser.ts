/**
 * What every browser test shares: Debian's Chromium driven by playwright-core
 * (`executablePath: /usr/bin/chromium`, installed by `scripts/setup.sh --test`) with flags that
 * keep it off the network, the screenshots of a page at a phone's and a desktop's width, and the
 * login forms. Without Chromium a test fails, it does not skip.
 */
import { mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { expect } from "vitest";

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
/** Where the screenshots go: $FLOWTALLY_ARTIFACTS, or a directory in the temp directory. */
export const ARTIFACTS =
  process.env.FLOWTALLY_ARTIFACTS ?? join(tmpdir(), "flowtally-web-artifacts");

export async function launchChromium(): Promise<Browser> {
  mkdirSync(ARTIFACTS, { recursive: true });
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

/**
 * Full-page screenshots at 390 px and 1920 px: `${name}-390.png`, `${name}-1920.png`. With
 * `noSideways`, also fails when an element reaches past the window's width outside a box that
 * scrolls on its own (`.table-wrap`, `.table-scroll`): the page itself must not scroll sideways.
 */
export async function shots(
  page: Page,
  name: string,
  o: { noSideways?: boolean } = {},
): Promise<void> {
  for (const width of [390, 1920]) {
    await page.setViewportSize({ width, height: width === 390 ? 844 : 1080 });
    await page.waitForTimeout(150);
    await page.screenshot({ path: join(ARTIFACTS, `${name}-${width}.png`), fullPage: true });
    if (o.noSideways === true) {
      const wider = (await page.evaluate(`[...document.querySelectorAll("body *")]
        .filter((e) => e.getBoundingClientRect().right > ${width} + 0.5
          && !e.closest(".table-wrap, .table-scroll"))
        .map((e) => e.tagName + "." + e.className + "#" + e.id)`)) as string[];
      expect(wider, `${name} at ${width} px`).toEqual([]);
    }
  }
}

/** Fills a login form (the page must show one) and waits for the page it leads to. */
export async function logIn(
  page: Page,
  user: string,
  password: string,
  then: string | RegExp | ((url: URL) => boolean),
): Promise<void> {
  await page.getByLabel("User name").fill(user);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.waitForURL(then);
}
