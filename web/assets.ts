/**
 * The static assets of the pages: htmx and uPlot from their npm packages (versions pinned in
 * package.json), the one stylesheet (ours, then uPlot's) and the pages' own script from
 * web/static/, and the portal's branding colours made from the config. Each is read once at
 * start, named by its content (`/assets/htmx-3f9c1a2b.js`), compressed when first asked for (brotli
 * and gzip copies on libuv's threads, web/compression.ts; 0.2 s of the start when made then) and
 * answered with a year's immutable cache: a new version is a new name. Nothing is fetched from
 * the internet.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { type Coding, precompress } from "./compression.js";

export interface Asset {
  /** The path it is served at: `/assets/<name>-<hash>.<ext>`. */
  path: string;
  contentType: string;
  body: string;
  /**
   * The body compressed, for a client that accepts it (undefined: it could not be): made at the
   * first call, the first request for the asset, not at start.
   */
  encoded(): Promise<Record<Coding, Uint8Array> | undefined>;
}

/** The assets by role, and by the file name under /assets/. */
export interface Assets {
  readonly htmx: Asset;
  readonly uplot: Asset;
  readonly script: Asset;
  /** The admin pages' script (web/static/admin.js: the copy button of a new token). */
  readonly admin: Asset;
  /** The customer management page's script (web/manage/). */
  readonly manage: Asset;
  /** The traffic-by-class graph (web/static/class-graph.js), on pages with graphs. */
  readonly classGraph: Asset;
  readonly stylesheet: Asset;
  readonly brand: Asset;
  readonly icon: Asset;
  byFile: ReadonlyMap<string, Asset>;
}

const require = createRequire(import.meta.url);

/** web/static/ from the sources (web/assets.ts) or the build (dist/web/assets.js). */
function staticDir(): string {
  for (const rel of ["./static/", "../../web/static/"]) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(`${dir}console.js`)) return dir;
  }
  throw new Error("web/static/ is missing beside the program (a broken install)");
}

const TYPES = {
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  svg: "image/svg+xml",
} as const;

/** The pages' icon (two bars, in and out): without one a browser asks for /favicon.ico. */
const ICON =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect x="2" y="4" width="5" height="10" fill="#1f77b4"/><rect x="9" y="8" width="5" height="6" fill="#2ca02c"/></svg>\n';

/**
 * The compressed copies by the body's hash: made once per process, off the event loop (brotli at
 * its best quality takes ~0.2 s for the lot), however many servers start (tests start many).
 */
const compressed = new Map<string, Promise<Record<Coding, Uint8Array> | undefined>>();

/** An asset named by its content's hash. */
export function asset(name: string, ext: keyof typeof TYPES, body: string): Asset {
  const full = createHash("sha256").update(body).digest("hex");
  const hash = full.slice(0, 12);
  return {
    path: `/assets/${name}-${hash}.${ext}`,
    contentType: TYPES[ext],
    body,
    encoded() {
      let copies = compressed.get(full);
      if (copies === undefined) {
        copies = precompress(body);
        compressed.set(full, copies);
      }
      return copies;
    },
  };
}

export interface BrandColors {
  primary: string;
  background: string;
  text: string;
}

/** The branding colours as CSS custom properties (values validated by the config schema). */
export function brandCss(colors: BrandColors): string {
  return `:root{--brand:${colors.primary};--page-bg:${colors.background};--page-text:${colors.text}}\n`;
}

export function loadAssets(colors: BrandColors): Assets {
  const dir = staticDir();
  const read = (path: string) => readFileSync(path, "utf8");
  const htmx = asset("htmx", "js", read(require.resolve("htmx.org/dist/htmx.min.js")));
  const uplot = asset("uplot", "js", read(require.resolve("uplot/dist/uPlot.iife.min.js")));
  const script = asset("console", "js", read(`${dir}console.js`));
  const admin = asset("admin", "js", read(`${dir}admin.js`));
  const manage = asset("manage", "js", read(`${dir}manage.js`));
  const classGraph = asset("class-graph", "js", read(`${dir}class-graph.js`));
  const stylesheet = asset(
    "flowtally",
    "css",
    `${read(`${dir}flowtally.css`)}\n/* uPlot 1.6.32 (MIT) */\n${read(require.resolve("uplot/dist/uPlot.min.css"))}`,
  );
  const brand = asset("brand", "css", brandCss(colors));
  const icon = asset("icon", "svg", ICON);
  const all = [htmx, uplot, script, admin, manage, classGraph, stylesheet, brand, icon];
  return {
    htmx,
    uplot,
    script,
    admin,
    manage,
    classGraph,
    stylesheet,
    brand,
    icon,
    byFile: new Map(all.map((a) => [a.path.slice("/assets/".length), a])),
  };
}
