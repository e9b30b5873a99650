/**
 * Debian's Chromium for the browser tests (playwright-core, installed by `scripts/setup.sh
 * --test`), launched with the flags that keep it off the network; screenshots go to
 * $FLOWTALLY_ARTIFACTS (default: flowtally-web-artifacts in the temp directory).
 */
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Browser, chromium } from "playwright-core";

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

/** Chromium, off the network; without it the test fails (it does not skip). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}
