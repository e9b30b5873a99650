/**
 * The saves of the portal's branding words and colours and of the global message of the day,
 * shared by the admin pages (settings-routes.ts) and the settings API (settings-api.ts): one
 * check, one audit entry (before and after of what changed), one write. A value equal to the
 * config's removes the saved one (the config is in force again).
 */
import type { Principal } from "../../accounts/model.js";
import {
  brandingChanges,
  type ConfigPortal,
  type FieldProblems,
  mergeSettings,
  motdChange,
  type PortalSettings,
  SETTING_KEYS,
  TEXT_SETTINGS,
  type TextSetting,
} from "./portal-settings.js";
import type { SettingsCache } from "./settings-cache.js";

/** Who saves: the principal and the client, as the audit log names them. */
export interface SettingsActor {
  principal: Principal;
  client: string;
}

/** The text settings in force, by name. */
export function texts(s: PortalSettings): Record<TextSetting, string> {
  return { title: s.title, footer: s.footer, loginText: s.loginText, ...s.colors };
}

/** The stored settings as they will be after `changes` (from the settings in force now). */
function projected(
  current: PortalSettings,
  changes: ReadonlyMap<string, string | null>,
): Map<string, string> {
  const stored = new Map<string, string>();
  const t = texts(current);
  for (const k of TEXT_SETTINGS) if (current.saved.has(k)) stored.set(SETTING_KEYS[k], t[k]);
  for (const [k, v] of changes) {
    if (v === null) stored.delete(k);
    else stored.set(k, v);
  }
  return stored;
}

/**
 * Saves the branding's words and colours: `values` gives a setting's new text (absent: left as
 * it is); `reset` instead puts the config's back for all of them. The problems of bad values
 * (nothing saved), or whether anything changed.
 */
export async function saveBrandingTexts(
  settings: SettingsCache,
  config: ConfigPortal,
  values: { get(name: string): string | null } | "reset",
  by: SettingsActor,
): Promise<{ problems: FieldProblems } | { changed: boolean; settings: PortalSettings }> {
  let changes: Map<string, string | null>;
  if (values === "reset") {
    changes = new Map(TEXT_SETTINGS.map((k) => [SETTING_KEYS[k], null]));
  } else {
    const checked = brandingChanges(config, values);
    if (Object.keys(checked.problems).length > 0) return { problems: checked.problems };
    changes = checked.changes;
  }
  const current = await settings.fresh();
  const merged = mergeSettings(config, projected(current, changes));
  const before: Record<string, string> = {};
  const after: Record<string, string> = {};
  const was = texts(current);
  const will = texts(merged);
  for (const k of TEXT_SETTINGS) {
    if (was[k] !== will[k] || current.saved.has(k) !== merged.saved.has(k)) {
      before[k] = was[k];
      after[k] = will[k];
    }
  }
  if (Object.keys(after).length === 0) return { changed: false, settings: current };
  const saved = await settings.save(changes, by.principal, by.client, {
    action: "portal-branding",
    target: "branding",
    detail: { before, after },
  });
  return { changed: true, settings: saved };
}

/**
 * Saves the global message of the day: `text` (trimmed; "" for none), or null for the config's.
 * Its problem (too long), or whether anything changed.
 */
export async function saveGlobalMotd(
  settings: SettingsCache,
  config: ConfigPortal,
  text: string | null,
  by: SettingsActor,
): Promise<{ problem: string } | { changed: boolean; settings: PortalSettings }> {
  const change = text === null ? { value: null } : motdChange(config, text);
  if ("problem" in change) return change;
  const current = await settings.fresh();
  const before = current.motd ?? null;
  const after = change.value ?? config.motd ?? null;
  const shown = after === "" ? null : after;
  if (before === shown) return { changed: false, settings: current };
  const saved = await settings.save(
    new Map([[SETTING_KEYS.motd, change.value]]),
    by.principal,
    by.client,
    {
      action: "motd-global",
      target: "global",
      detail: { before, after: shown, source: change.value === null ? "config" : "saved" },
    },
  );
  return { changed: true, settings: saved };
}
