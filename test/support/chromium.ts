/**
 * Chromium for the pages' browser tests: Debian's /usr/bin/chromium driven by playwright-core,
 * with the flags that keep it off the network, and screenshots at 390 px and 1920 px into
 * $FLOWTALLY_ARTIFACTS (default: a flowtally-web-artifacts directory in the temp directory).
 */
import { mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { PASSWORD } from "./web-fixture.js";

export const ARTIFACTS =
  process.env.FLOWTALLY_ARTIFACTS ?? join(tmpdir(), "flowtally-web-artifacts");

/** Chromium without these keeps trying to reach the internet. */
const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Starts Chromium (fails, never skips, without it) and makes the artifacts' directory. */
export function launchChromium(): Promise<Browser> {
  mkdirSync(ARTIFACTS, { recursive: true });
  return chromium.launch({ executablePath: "/usr/bin/chromium", args: CHROMIUM_ARGS });
}

/** Full-page screenshots of the page at 390 px and 1920 px: `<name>-390.png`, `<name>-1920.png`. */
export async function shots(page: Page, name: string): Promise<void> {
  for (const width of [390, 1920]) {
    await page.setViewportSize({ width, height: width === 390 ? 844 : 1080 });
    await page.waitForTimeout(150);
    await page.screenshot({ path: join(ARTIFACTS, `${name}-${width}.png`), fullPage: true });
  }
}

/** Logs the fixture's operator (`ops`) in through the console's login form. */
export async function logInToConsole(page: Page, base: string): Promise<void> {
  await page.goto(`${base}/console/login`);
  await page.getByLabel("User name").fill("ops");
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.waitForURL("**/console");
}
