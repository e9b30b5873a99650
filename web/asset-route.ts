/**
 * `/assets/{file}`: the pages' scripts, stylesheet and images, named by their content and cached
 * for a year; the portal's logo (saved by the admin pages) with a policy under which an SVG
 * opened on its own runs nothing; and the brand stylesheets of the colours in force.
 */
import { notFound } from "../query/api/errors.js";
import { reply } from "../query/api/reply.js";
import type { ApiRoute } from "../query/api/routes.js";
import type { BrandStylesheets } from "./admin/brand-stylesheets.js";
import { LOGO_POLICY } from "./admin/portal-settings.js";
import type { SettingsCache } from "./admin/settings-cache.js";
import type { Assets } from "./assets.js";
import { encodedStatic } from "./compression.js";

export function assetRoute(
  assets: Assets,
  settings: SettingsCache,
  stylesheets: BrandStylesheets,
): ApiRoute {
  return {
    path: "/assets/{file}",
    access: "public",
    inProcess: false,
    summary:
      "The pages' scripts, stylesheet and images, named by their content (cached for a year)",
    responses: { 200: { description: "The asset" } },
    async handler({ params, header }) {
      const file = params.file ?? "";
      const immutable = { "cache-control": "public, max-age=31536000, immutable" };
      if (file.startsWith("logo-")) {
        const logo = await settings.logo(file);
        if (logo === undefined) throw notFound("no such asset");
        // An SVG opened on its own runs nothing under this policy (an <img> never runs one).
        const headers = { ...immutable, "content-security-policy": LOGO_POLICY };
        return { ...reply(200, "", logo.ref.contentType, headers), bytes: logo.bytes };
      }
      let a = assets.byFile.get(file) ?? stylesheets.byFile(file);
      if (a === undefined && file.startsWith("brand-")) {
        // A page of another process (scaled out) may name the colours saved there: those in force.
        const made = stylesheets.forColors((await settings.fresh()).colors);
        if (made.path === `/assets/${file}`) a = made;
      }
      if (a === undefined) throw notFound("no such asset");
      return encodedStatic(
        reply(200, a.body, a.contentType, immutable),
        await a.encoded(),
        header("accept-encoding"),
      );
    },
  };
}
