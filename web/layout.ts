/**
 * The frame of every page: the head (the one stylesheet, the portal's colours, the scripts as
 * files, never inline), a skip link, the header with its navigation and the logout form (its CSRF
 * token as a hidden field), the main content and the footer. Pure: a view in, Html out.
 */
import type { Assets } from "./assets.js";
import { type Html, html, trusted } from "./html.js";

export type Area = "console" | "portal";

export interface Branding {
  title: string;
  footer: string;
  /** The logo's path under /assets/, if any. */
  logoPath?: string | undefined;
  /** The colours' stylesheet under /assets/ (default: the config's, assets.brand). */
  stylesheetPath?: string | undefined;
}

export interface Viewer {
  user: string;
  role: string;
  customer?: string | undefined;
  /** The session's CSRF token (absent for a bearer token: no logout form then). */
  csrf?: string | undefined;
}

export interface PageView {
  title: string;
  area: Area;
  viewer?: Viewer | undefined;
  body: Html;
  /** Whether the page draws charts (uPlot is loaded only then). */
  charts?: boolean;
  /** Whether the page loads the admin pages' script (web/static/admin.js). */
  admin?: boolean;
}

/** htmx's settings: no eval, no inline indicator styles (the CSP allows neither). */
const HTMX_CONFIG = trusted(
  '<meta name="htmx-config" content=\'{"includeIndicatorStyles":false,"allowEval":false,"allowScriptTags":false,"historyCacheSize":0}\'>',
);

function nav(area: Area, viewer: Viewer | undefined): Html {
  if (viewer === undefined) return html``;
  const operator = viewer.role === "admin" || viewer.role === "operator";
  const links: Html[] = [];
  if (operator) {
    links.push(
      html`<a href="/console">Overview</a>`,
      html`<a href="/console/manage">Customers</a>`,
      html`<a href="/console/status">Status</a>`,
    );
  }
  if (viewer.customer !== undefined) {
    links.push(
      html`<a href="/portal/customers/${encodeURIComponent(viewer.customer)}">My traffic</a>`,
    );
  }
  if (viewer.role === "admin") links.push(html`<a href="/console/admin/users">Admin</a>`);
  if (viewer.csrf !== undefined) links.push(html`<a href="/console/tokens">API tokens</a>`);
  const logout =
    viewer.csrf === undefined
      ? html``
      : html`<form class="logout" method="post" action="/logout">
          <input type="hidden" name="csrf" value="${viewer.csrf}">
          <input type="hidden" name="area" value="${area}">
          <button type="submit">Log out</button>
        </form>`;
  return html`<nav aria-label="Main">${links}</nav>
    <span class="who">Signed in as <strong>${viewer.user}</strong> (${viewer.role})</span>${logout}`;
}

export function renderPage(view: PageView, assets: Assets, brand: Branding): string {
  const portal = view.area === "portal";
  const title = portal ? brand.title : "flowtally console";
  const logo =
    portal && brand.logoPath !== undefined
      ? html`<img class="logo" src="${brand.logoPath}" alt="${brand.title}">`
      : html``;
  const footer = portal && brand.footer !== "" ? html`<footer>${brand.footer}</footer>` : html``;
  const charts =
    view.charts === true ? html`<script src="${assets.uplot.path}" defer></script>` : html``;
  // After console.js, whose helpers it uses.
  const chartsAfter =
    view.charts === true ? html`<script src="${assets.classGraph.path}" defer></script>` : html``;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
${HTMX_CONFIG}
<title>${view.title} · ${title}</title>
<link rel="icon" href="${assets.icon.path}" type="image/svg+xml">
<link rel="stylesheet" href="${assets.stylesheet.path}">
${portal ? html`<link rel="stylesheet" href="${brand.stylesheetPath ?? assets.brand.path}">` : html``}
<script src="${assets.htmx.path}" defer></script>
${charts}
<script src="${assets.script.path}" defer></script>
${chartsAfter}
${view.admin === true ? html`<script src="${assets.admin.path}" defer></script>` : html``}
</head>
<body class="area-${view.area}">
<a class="skip" href="#main">Skip to the content</a>
<header class="top">${logo}<span class="brand">${title}</span>${nav(view.area, view.viewer)}</header>
<main id="main" tabindex="-1">
${view.body}
</main>
${footer}
</body>
</html>
`.text;
}
