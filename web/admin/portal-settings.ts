/**
 * The portal's settings that admins save on the admin pages, over the config's: the branding
 * (title, footer, login text, colours, logo) and the global message of the day. The config is
 * the default; a saved value overrides it key by key (docs/portal.md#branding-from-the-admin-pages).
 * Pure: the keys as stored, the merge, the check of a form and of an uploaded logo.
 */
import { createHash } from "node:crypto";
import type { z } from "zod";
import { brandingSchema, hexColor } from "../../schema/config.js";

/** The settings' keys in the accounts database (accounts_settings). */
export const SETTING_KEYS = {
  title: "branding.title",
  footer: "branding.footer",
  loginText: "branding.loginText",
  primary: "branding.colors.primary",
  background: "branding.colors.background",
  text: "branding.colors.text",
  /** JSON `{file, contentType, bytes}` of the saved logo, or `none` (no logo, whatever the config). */
  logo: "branding.logo",
  /** The saved logo's bytes, base64 (read only when the logo is asked for). */
  logoBytes: "branding.logo.bytes",
  motd: "motd",
} as const;

export type TextSetting = "title" | "footer" | "loginText" | "primary" | "background" | "text";
export const TEXT_SETTINGS: readonly TextSetting[] = [
  "title",
  "footer",
  "loginText",
  "primary",
  "background",
  "text",
];

/** Largest logo accepted from the admin page. */
export const MAX_LOGO_BYTES = 256 * 1024;

export interface LogoRef {
  /** Its name under /assets/: `logo-<sha256 prefix>.<ext>`. */
  file: string;
  contentType: string;
  /** Its size in bytes. */
  bytes: number;
}

/** What the config says (portal.branding, motd). */
export interface ConfigPortal {
  branding: {
    title: string;
    footer: string;
    loginText: string;
    colors: { primary: string; background: string; text: string };
  };
  motd?: string | undefined;
  /** The config's logo file as served, if any. */
  logo?: LogoRef | undefined;
}

/** The settings in force: the config's, with the saved ones over them. */
export interface PortalSettings {
  title: string;
  footer: string;
  loginText: string;
  colors: { primary: string; background: string; text: string };
  motd: string | undefined;
  logo: LogoRef | undefined;
  /** The keys (TextSetting, `logo`, `motd`) whose value is the saved one, not the config's. */
  saved: ReadonlySet<string>;
}

function savedLogo(text: string | undefined): LogoRef | "none" | undefined {
  if (text === undefined) return undefined;
  if (text === "none") return "none";
  try {
    const v = JSON.parse(text) as LogoRef;
    return typeof v.file === "string" && typeof v.contentType === "string" ? v : undefined;
  } catch {
    return undefined;
  }
}

/** The config's settings with the saved ones (key → value, as stored) over them. */
export function mergeSettings(
  config: ConfigPortal,
  stored: ReadonlyMap<string, string>,
): PortalSettings {
  const saved = new Set<string>();
  const pick = (name: TextSetting, fallback: string) => {
    const v = stored.get(SETTING_KEYS[name]);
    if (v === undefined) return fallback;
    saved.add(name);
    return v;
  };
  const b = config.branding;
  const logo = savedLogo(stored.get(SETTING_KEYS.logo));
  if (logo !== undefined) saved.add("logo");
  const motd = stored.get(SETTING_KEYS.motd);
  if (motd !== undefined) saved.add("motd");
  return {
    title: pick("title", b.title),
    footer: pick("footer", b.footer),
    loginText: pick("loginText", b.loginText),
    colors: {
      primary: pick("primary", b.colors.primary),
      background: pick("background", b.colors.background),
      text: pick("text", b.colors.text),
    },
    motd: motd === undefined ? config.motd : motd === "" ? undefined : motd,
    logo: logo === "none" ? undefined : (logo ?? config.logo),
    saved,
  };
}

/** The config's value of a text setting. */
export function configValue(config: ConfigPortal, name: TextSetting): string {
  const b = config.branding;
  return name === "title" || name === "footer" || name === "loginText" ? b[name] : b.colors[name];
}

const CHECKS: Readonly<Record<TextSetting, z.ZodType>> = {
  title: brandingSchema.shape.title,
  footer: brandingSchema.shape.footer,
  loginText: brandingSchema.shape.loginText,
  primary: hexColor,
  background: hexColor,
  text: hexColor,
};

export type FieldProblems = Partial<Record<string, string>>;

/**
 * The branding form checked: the changes to store (a value equal to the config's removes the
 * saved one: the config is in force again), or the problem of each bad field.
 */
export function brandingChanges(
  config: ConfigPortal,
  form: { get(name: string): string | null },
): { changes: Map<string, string | null>; problems: FieldProblems } {
  const changes = new Map<string, string | null>();
  const problems: FieldProblems = {};
  for (const name of TEXT_SETTINGS) {
    const raw = form.get(name);
    if (raw === null) continue;
    const value = name === "title" ? raw.trim() : raw.replace(/\r\n/g, "\n");
    const checked = CHECKS[name].safeParse(value);
    if (!checked.success) {
      problems[name] = checked.error.issues[0]?.message ?? "is not valid";
      continue;
    }
    changes.set(SETTING_KEYS[name], value === configValue(config, name) ? null : value);
  }
  return { changes, problems };
}

/** The global message of the day from its form: equal to the config's, the config is in force. */
export function motdChange(
  config: ConfigPortal,
  text: string,
): { value: string | null } | { problem: string } {
  const value = text.replace(/\r\n/g, "\n").trim();
  if (value.length > 4096) return { problem: "is longer than 4096 characters" };
  return { value: value === (config.motd ?? "") ? null : value };
}

const PNG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function startsWith(bytes: Uint8Array, prefix: readonly number[], at = 0): boolean {
  return prefix.every((b, i) => bytes[at + i] === b);
}

/**
 * An uploaded logo checked by its bytes, not its name or the browser's word: PNG, JPEG, WebP, or
 * SVG (served as an image under a Content-Security-Policy that runs nothing: web/admin's logo
 * answer). Larger than MAX_LOGO_BYTES, empty or anything else: the problem.
 */
export function checkLogo(bytes: Uint8Array): { ref: LogoRef } | { problem: string } {
  if (bytes.length === 0) return { problem: "choose a file" };
  if (bytes.length > MAX_LOGO_BYTES) {
    return { problem: `is larger than ${MAX_LOGO_BYTES / 1024} KiB` };
  }
  let ext: string;
  let contentType: string;
  if (startsWith(bytes, PNG)) [ext, contentType] = ["png", "image/png"];
  else if (startsWith(bytes, [0xff, 0xd8, 0xff])) [ext, contentType] = ["jpg", "image/jpeg"];
  else if (
    startsWith(bytes, [0x52, 0x49, 0x46, 0x46]) &&
    startsWith(bytes, [0x57, 0x45, 0x42, 0x50], 8)
  ) {
    [ext, contentType] = ["webp", "image/webp"];
  } else if (isSvg(bytes)) [ext, contentType] = ["svg", "image/svg+xml"];
  else return { problem: "is not a PNG, JPEG, WebP or SVG image" };
  const hash = createHash("sha256").update(bytes).digest("hex").slice(0, 12);
  return { ref: { file: `logo-${hash}.${ext}`, contentType, bytes: bytes.length } };
}

function isSvg(bytes: Uint8Array): boolean {
  const head = Buffer.from(bytes.subarray(0, 1024)).toString("utf8");
  return /^\s*(?:<\?xml[^>]*>\s*)?(?:<!--[\s\S]*?-->\s*)*(?:<!DOCTYPE svg[^>]*>\s*)?<svg[\s>]/i.test(
    head,
  );
}

/**
 * The headers of a logo answer: its type, never sniffed, and for SVG a policy under which it runs
 * no script and loads nothing (opened on its own, as well as shown by an <img>, where browsers
 * never run an image's script).
 */
export const LOGO_POLICY = "default-src 'none'; style-src 'unsafe-inline'; sandbox";
