/**
 * The portal's branding and the global message of the day as JSON (docs/api.md#portal-settings),
 * for automation: what the admin pages show and save, through the same saves
 * (settings-actions.ts), with the same checks and audit entries. Admins only.
 *
 * - `GET /api/v1/settings/branding`, `PUT` with the settings to change: a text sets it, null puts
 *   the config's back, a field left out stays as it is;
 * - `GET /api/v1/settings/motd`, `PUT {"motd": text}` ("" for none) or `{"motd": null}` (the
 *   config's).
 *
 * A value that breaks a rule (a colour that is not #rrggbb, a text too long) answers 422
 * FT_SETTINGS_INVALID naming the field; the logo is uploaded on the branding page.
 */
import { z } from "zod";
import { ApiError, type BodyProblem } from "../../query/api/errors.js";
import { jsonReply } from "../../query/api/reply.js";
import type { ApiRoute, RouteInput } from "../../query/api/routes.js";
import { NoQuery } from "../../query/api/schemas.js";
import {
  type ConfigPortal,
  configValue,
  type PortalSettings,
  TEXT_SETTINGS,
  type TextSetting,
} from "./portal-settings.js";
import { type SettingsActor, saveBrandingTexts, saveGlobalMotd } from "./settings-actions.js";
import type { SettingsCache } from "./settings-cache.js";

export interface SettingsApiDeps {
  settings: SettingsCache;
  /** The config's branding and message of the day (the defaults under the saved settings). */
  portal: ConfigPortal;
}

const json = (schema: z.ZodType) => ({ "application/json": schema });
const COLORS = ["primary", "background", "text"] as const;

/** A setting's place in the JSON body (`colors.primary`). */
const fieldOf = (name: TextSetting): string =>
  (COLORS as readonly string[]).includes(name) ? `colors.${name}` : name;

const text = (description: string) => z.string().meta({ description });
const Colors = z.strictObject({
  primary: text("#rrggbb"),
  background: text("#rrggbb"),
  text: text("#rrggbb"),
});
const Branding = z
  .strictObject({
    title: z.string(),
    footer: z.string(),
    loginText: z.string(),
    colors: Colors,
    logo: z
      .strictObject({
        file: text("Served at /assets/{file}"),
        contentType: z.string(),
        bytes: z.number(),
      })
      .nullable(),
    saved: z.array(z.string()).meta({
      description:
        "The settings whose value is the admins' (title, footer, loginText, primary, background, text, logo); the others are the config's",
    }),
  })
  .meta({ id: "PortalBranding" });
const setting = z.union([z.string(), z.null()]).optional();
const BrandingPut = z
  .strictObject({
    title: setting,
    footer: setting,
    loginText: setting,
    colors: z.strictObject({ primary: setting, background: setting, text: setting }).optional(),
  })
  .meta({
    id: "PortalBrandingChange",
    description:
      "The settings to change: a text sets one, null puts the config's back, a field left out stays",
  });
const Motd = z
  .strictObject({
    motd: z.string().nullable().meta({ description: "The message in force; null: none" }),
    source: z.enum(["config", "saved"]),
    config: z.string().nullable().meta({ description: "The config's `motd`" }),
  })
  .meta({ id: "GlobalMotd" });
const MotdPut = z
  .strictObject({
    motd: z
      .string()
      .nullable()
      .meta({ description: 'At most 4096 characters; "" for none; null: the config\'s' }),
  })
  .meta({ id: "GlobalMotdChange" });

function brandingOut(s: PortalSettings): z.infer<typeof Branding> {
  return {
    title: s.title,
    footer: s.footer,
    loginText: s.loginText,
    colors: { ...s.colors },
    logo: s.logo === undefined ? null : { ...s.logo },
    saved: [...s.saved].filter((k) => k !== "motd").sort(),
  };
}

function motdOut(s: PortalSettings, config: ConfigPortal): z.infer<typeof Motd> {
  return {
    motd: s.motd ?? null,
    source: s.saved.has("motd") ? "saved" : "config",
    config: config.motd ?? null,
  };
}

function invalid(problems: BodyProblem[]): ApiError {
  return new ApiError(
    422,
    "FT_SETTINGS_INVALID",
    `invalid setting: ${problems.map((p) => `${p.path} ${p.reason}`).join("; ")}`,
    problems[0]?.path,
    {},
    { problems },
  );
}

const actorOf = (input: RouteInput): SettingsActor => {
  if (input.principal === undefined) throw new Error("a settings route ran without a principal");
  return { principal: input.principal, client: input.client };
};

export function settingsApiRoutes(deps: SettingsApiDeps): ApiRoute[] {
  const { settings, portal } = deps;
  const base = { inProcess: false, access: "admin" } as const;
  const invalidAnswer = {
    422: { description: "A value breaks a rule (FT_SETTINGS_INVALID, problems names each field)" },
  };
  return [
    {
      ...base,
      path: "/api/v1/settings/branding",
      summary: "The portal's branding in force: the config's, with what admins saved over it",
      query: NoQuery,
      responses: { 200: { description: "The branding", content: json(Branding) } },
      handler: async () => jsonReply(200, brandingOut(await settings.fresh())),
    },
    {
      ...base,
      method: "PUT",
      path: "/api/v1/settings/branding",
      summary:
        "Change the portal's words and colours (audited; in force in every process within seconds)",
      body: BrandingPut,
      responses: {
        200: { description: "The branding in force after the change", content: json(Branding) },
        ...invalidAnswer,
      },
      async handler(input) {
        const b = input.body as z.infer<typeof BrandingPut>;
        const given: Partial<Record<TextSetting, string | null>> = {
          ...(b.title === undefined ? {} : { title: b.title }),
          ...(b.footer === undefined ? {} : { footer: b.footer }),
          ...(b.loginText === undefined ? {} : { loginText: b.loginText }),
        };
        for (const c of COLORS) if (b.colors?.[c] !== undefined) given[c] = b.colors[c];
        const values = {
          get(name: string): string | null {
            const v = given[name as TextSetting];
            if (v === undefined) return null; // left as it is
            return v ?? configValue(portal, name as TextSetting); // null: the config's
          },
        };
        const saved = await saveBrandingTexts(settings, portal, values, actorOf(input));
        if ("problems" in saved) {
          throw invalid(
            TEXT_SETTINGS.filter((k) => saved.problems[k] !== undefined).map((k) => ({
              path: fieldOf(k),
              reason: saved.problems[k]!,
            })),
          );
        }
        return jsonReply(200, brandingOut(saved.settings));
      },
    },
    {
      ...base,
      path: "/api/v1/settings/motd",
      summary:
        "The global message of the day in force (every user's; a customer's own is its record's)",
      query: NoQuery,
      responses: { 200: { description: "The message", content: json(Motd) } },
      handler: async () => jsonReply(200, motdOut(await settings.fresh(), portal)),
    },
    {
      ...base,
      method: "PUT",
      path: "/api/v1/settings/motd",
      summary: "Set the global message of the day, or put the config's back (audited)",
      body: MotdPut,
      responses: {
        200: { description: "The message in force after the change", content: json(Motd) },
        ...invalidAnswer,
      },
      async handler(input) {
        const { motd } = input.body as z.infer<typeof MotdPut>;
        const saved = await saveGlobalMotd(
          settings,
          portal,
          motd === null ? null : motd.replace(/\r\n/g, "\n"),
          actorOf(input),
        );
        if ("problem" in saved) throw invalid([{ path: "motd", reason: saved.problem }]);
        return jsonReply(200, motdOut(saved.settings, portal));
      },
    },
  ];
}
