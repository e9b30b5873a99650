/**
 * The routes of the messages-of-the-day and portal-branding pages (admins), in the one route
 * table (the audit page: audit-routes.ts). Every change is written with its audit entry (before
 * and after); the settings are in force in this process at once and in the others within
 * SETTINGS_TTL_MS.
 */

import { isApiError, notFound } from "../../query/api/errors.js";
import type { ApiReply } from "../../query/api/reply.js";
import type { ApiRoute, RouteInput } from "../../query/api/routes.js";
import { isFlowtallyError } from "../../schema/errors.js";
import type { AdminDeps } from "./admin-deps.js";
import { renderBranding } from "./branding-page.js";
import { renderMotd } from "./motd-page.js";
import {
  checkLogo,
  type FieldProblems,
  motdChange,
  SETTING_KEYS,
  TEXT_SETTINGS,
} from "./portal-settings.js";
import { type SettingsActor, saveBrandingTexts, saveGlobalMotd } from "./settings-actions.js";
import { redirect, who } from "./user-routes.js";

/** Who saves, from a page's request. */
const by = (input: RouteInput): SettingsActor => ({ principal: who(input), client: input.client });

const PAGE = { 200: { description: "An HTML page" } } as const;
const MOVED = { 303: { description: "Saved: on to the page" } } as const;
const MAX_MATCHES = 20;

const DONE: Readonly<Record<string, string>> = {
  "motd-global": "The global message of the day is saved.",
  "motd-customer": "The customer's message of the day is saved.",
  branding: "The branding is saved.",
  unchanged: "Nothing changed.",
  logo: "The logo is saved.",
};

function doneOf(search: string): string | undefined {
  return DONE[new URLSearchParams(search).get("done") ?? ""];
}

export function settingsRoutes(deps: AdminDeps): ApiRoute[] {
  const { settings, portal } = deps;

  // --- Messages of the day ----------------------------------------------------------------------
  async function motdPage(
    input: RouteInput,
    status = 200,
    o: {
      customer?: string;
      preview?: { of: "global" | "customer"; text: string };
      problems?: Partial<Record<"global" | "customer", string>>;
      sent?: Partial<Record<"global" | "customer", string>>;
    } = {},
  ): Promise<ApiReply> {
    const q = new URLSearchParams(input.search);
    const find = (q.get("find") ?? "").trim();
    const chosen = o.customer ?? q.get("customer") ?? "";
    const s = await settings.fresh();
    const snapshot = await deps.registry.snapshot();
    const words = find.toLowerCase();
    const matches: Array<{ id: string; name: string }> = [];
    if (find !== "") {
      for (const c of snapshot.customers) {
        if (matches.length === MAX_MATCHES) break;
        if (c.id.toLowerCase().includes(words) || c.name.toLowerCase().includes(words)) {
          matches.push({ id: c.id, name: c.name });
        }
      }
    }
    let customer: { id: string; name: string; text: string } | undefined;
    if (chosen !== "") {
      const c = snapshot.customers.get(chosen);
      if (c === undefined) throw notFound("no such customer");
      customer = { id: c.id, name: c.name, text: c.motd ?? "" };
    }
    return deps.render(
      input,
      status,
      "Messages of the day",
      renderMotd({
        viewer: deps.viewer(input),
        global: { text: s.motd ?? "", fromConfig: !s.saved.has("motd"), configText: portal.motd },
        find,
        matches,
        customer,
        readOnly:
          deps.registry.source === "config"
            ? "Customers come from the config file (registry.source: config): a customer's message of the day is its motd there."
            : undefined,
        preview: o.preview,
        problems: o.problems ?? {},
        sent: o.sent ?? {},
        done: doneOf(input.search),
      }),
    );
  }

  async function saveMotd(input: RouteInput): Promise<ApiReply> {
    const form = input.body as URLSearchParams;
    const action = form.get("action") ?? "";
    const text = (form.get("text") ?? "").replace(/\r\n/g, "\n");
    if (action === "preview-global" || action === "save-global") {
      if (action === "preview-global") {
        const change = motdChange(portal, text);
        if ("problem" in change) {
          return motdPage(input, 400, {
            problems: { global: change.problem },
            sent: { global: text },
          });
        }
        return motdPage(input, 200, { preview: { of: "global", text }, sent: { global: text } });
      }
      const saved = await saveGlobalMotd(settings, portal, text, by(input));
      if ("problem" in saved) {
        return motdPage(input, 400, {
          problems: { global: saved.problem },
          sent: { global: text },
        });
      }
      if (!saved.changed) return redirect("/console/admin/motd?done=unchanged");
      return redirect("/console/admin/motd?done=motd-global");
    }
    if (action === "preview-customer" || action === "save-customer") {
      const id = form.get("customer") ?? "";
      const c = (await deps.registry.snapshot()).customers.get(id);
      if (c === undefined) throw notFound("no such customer");
      const value = text.trim();
      const again = (status: number, o: Parameters<typeof motdPage>[2]) =>
        motdPage(input, status, { customer: id, sent: { customer: text }, ...o });
      if (value.length > 4096)
        return again(400, { problems: { customer: "is longer than 4096 characters" } });
      if (action === "preview-customer")
        return again(200, { preview: { of: "customer", text: value } });
      const before = c.motd ?? null;
      const after = value === "" ? null : value;
      if (before === after)
        return redirect(`/console/admin/motd?customer=${encodeURIComponent(id)}&done=unchanged`);
      try {
        await deps.registry.apply([{ op: "update", customer: id, set: { motd: after } }], {
          actor: input.actor,
        });
      } catch (e) {
        // Read-only (registry.source: config), or a change another one made meanwhile.
        if (isApiError(e)) return again(e.status, { problems: { customer: e.message } });
        if (isFlowtallyError(e)) return again(409, { problems: { customer: e.message } });
        throw e;
      }
      await deps.accounts.recordChange(who(input), "customer-motd", id, input.client, {
        customer: id,
        before,
        after,
      });
      return redirect(`/console/admin/motd?customer=${encodeURIComponent(id)}&done=motd-customer`);
    }
    return motdPage(input, 400, { problems: { global: "action: expected save or preview" } });
  }

  // --- Branding ---------------------------------------------------------------------------------
  const brandingPage = async (
    input: RouteInput,
    status = 200,
    o: { values?: Partial<Record<string, string>>; problems?: FieldProblems } = {},
  ) =>
    deps.render(
      input,
      status,
      "Portal branding",
      renderBranding({
        viewer: deps.viewer(input),
        config: portal,
        settings: await settings.fresh(),
        values: o.values,
        problems: o.problems ?? {},
        done: doneOf(input.search),
      }),
      // admin.js: a logo larger than the limit is not sent (said beside the field).
      { scripts: true },
    );

  async function saveBranding(input: RouteInput): Promise<ApiReply> {
    const form = input.body as URLSearchParams;
    const action = form.get("action") ?? "save";
    if (action === "save" || action === "reset") {
      const saved = await saveBrandingTexts(
        settings,
        portal,
        action === "save" ? form : "reset",
        by(input),
      );
      if ("problems" in saved) {
        const values = Object.fromEntries(TEXT_SETTINGS.map((k) => [k, form.get(k) ?? ""]));
        return brandingPage(input, 400, { values, problems: saved.problems });
      }
      return redirect(`/console/admin/branding?done=${saved.changed ? "branding" : "unchanged"}`);
    }
    if (action !== "logo-none" && action !== "logo-config") {
      return brandingPage(input, 400, {
        problems: { title: "action: expected save, reset, logo-none or logo-config" },
      });
    }
    const current = await settings.fresh();
    const changes = new Map([
      [SETTING_KEYS.logo, action === "logo-none" ? "none" : null],
      [SETTING_KEYS.logoBytes, null],
    ]);
    const after = action === "logo-none" ? null : (portal.logo?.file ?? null);
    if (
      (current.logo?.file ?? null) === after &&
      current.saved.has("logo") === (action === "logo-none")
    ) {
      return redirect("/console/admin/branding?done=unchanged");
    }
    const entry = { action: "portal-logo", detail: { before: current.logo?.file ?? null, after } };
    await settings.save(changes, who(input), input.client, { ...entry, target: "branding" });
    return redirect("/console/admin/branding?done=branding");
  }

  async function uploadLogo(input: RouteInput): Promise<ApiReply> {
    const file = input.files?.get("logo");
    const checked = checkLogo(file?.bytes ?? new Uint8Array());
    if ("problem" in checked)
      return brandingPage(input, 400, { problems: { logo: checked.problem } });
    const current = await settings.fresh();
    await settings.save(
      new Map([
        [SETTING_KEYS.logo, JSON.stringify(checked.ref)],
        [SETTING_KEYS.logoBytes, Buffer.from(file!.bytes).toString("base64")],
      ]),
      who(input),
      input.client,
      {
        action: "portal-logo",
        target: "branding",
        detail: {
          before: current.logo?.file ?? null,
          after: checked.ref.file,
          contentType: checked.ref.contentType,
          bytes: checked.ref.bytes,
        },
      },
    );
    return redirect("/console/admin/branding?done=logo");
  }

  const base = { page: true, inProcess: false, access: "admin" } as const;
  return [
    {
      ...base,
      path: "/console/admin/motd",
      summary: "Admin: the global and the customers' messages of the day",
      responses: PAGE,
      handler: (input) => motdPage(input),
    },
    {
      ...base,
      method: "POST",
      form: true,
      path: "/console/admin/motd",
      summary: "Admin: save or preview a message of the day",
      responses: { ...PAGE, ...MOVED },
      handler: saveMotd,
    },
    {
      ...base,
      path: "/console/admin/branding",
      summary: "Admin: the portal's branding over the config's",
      responses: PAGE,
      handler: (input) => brandingPage(input),
    },
    {
      ...base,
      method: "POST",
      form: true,
      path: "/console/admin/branding",
      summary:
        "Admin: save the portal's words and colours, or go back to the config's; no logo, or the config's",
      responses: MOVED,
      handler: saveBranding,
    },
    {
      ...base,
      method: "POST",
      form: true,
      upload: true,
      path: "/console/admin/branding/logo",
      formPage: "/console/admin/branding",
      summary: "Admin: upload the portal's logo (PNG, JPEG, WebP or SVG, checked by its bytes)",
      responses: MOVED,
      handler: uploadLogo,
    },
  ];
}
