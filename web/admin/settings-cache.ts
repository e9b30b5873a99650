/**
 * The portal's settings in force in this process (portal-settings.ts), read from the accounts
 * database and kept for a short time: a save in this process is in force at once, a save in
 * another process (scaled out, one PostgreSQL) within `ttlMs` — pages ask `fresh()` before they
 * render, which reads the settings again once they are older than that. A failed read keeps the
 * last settings (the config's at first) and is logged; the next page tries again.
 */
import type { Logger } from "pino";
import type { Accounts } from "../../accounts/accounts.js";
import type { Principal } from "../../accounts/model.js";
import {
  type ConfigPortal,
  type LogoRef,
  mergeSettings,
  type PortalSettings,
  SETTING_KEYS,
} from "./portal-settings.js";

/** How long settings read are used before they are read again (what another process waits). */
export const SETTINGS_TTL_MS = 2000;

/** The config's portal settings (portal.branding, motd) and its logo file as served, if any. */
export function configPortal(
  config: { portal: { branding: ConfigPortal["branding"] }; motd?: string | undefined },
  logo: { file: string; contentType: string; bytes: Uint8Array } | undefined,
): ConfigPortal & { logoBytes?: Uint8Array | undefined } {
  return {
    branding: config.portal.branding,
    motd: config.motd,
    logo: logo === undefined ? undefined : { ...logo, bytes: logo.bytes.length },
    logoBytes: logo?.bytes,
  };
}

export type SettingsStore = Pick<Accounts, "readSettings" | "readSetting" | "writeSettings">;

export interface SettingsCache {
  /** The settings as last read (the config's before the first read). */
  current(): PortalSettings;
  /** The settings, read again first when older than the TTL. */
  fresh(): Promise<PortalSettings>;
  /** Writes changes (with their audit entry) and reads the settings back at once. */
  save(
    changes: ReadonlyMap<string, string | null>,
    actor: Principal,
    client: string,
    entry: { action: string; target: string; detail: Record<string, unknown> },
  ): Promise<PortalSettings>;
  /** The bytes of the logo in force named `file`, if it is that one. */
  logo(file: string): Promise<{ ref: LogoRef; bytes: Uint8Array } | undefined>;
}

export function createSettingsCache(
  config: ConfigPortal & { logoBytes?: Uint8Array | undefined },
  store: SettingsStore | undefined,
  deps: { log?: Logger; ttlMs?: number; monotonic?: () => number } = {},
): SettingsCache {
  const ttl = deps.ttlMs ?? SETTINGS_TTL_MS;
  const clock = deps.monotonic ?? (() => performance.now());
  let settings = mergeSettings(config, new Map());
  let readAt = Number.NEGATIVE_INFINITY;
  let reading: Promise<PortalSettings> | undefined;
  /** The saved logo's bytes, by its file name. */
  let savedLogo: { file: string; bytes: Uint8Array } | undefined;

  function read(): Promise<PortalSettings> {
    if (store === undefined) return Promise.resolve(settings);
    reading ??= Promise.resolve()
      .then(() => store.readSettings([SETTING_KEYS.logoBytes]))
      .then(
        (stored) => {
          settings = mergeSettings(config, stored);
          return settings;
        },
        (e: unknown) => {
          deps.log?.warn({ err: e }, "portal settings could not be read; the last ones stay");
          return settings;
        },
      )
      .finally(() => {
        readAt = clock();
        reading = undefined;
      });
    return reading;
  }

  return {
    current: () => settings,
    fresh: () => (clock() - readAt < ttl ? Promise.resolve(settings) : read()),
    async save(changes, actor, client, entry) {
      if (store === undefined) throw new Error("portal settings need the accounts database");
      await store.writeSettings(changes, actor, client, entry);
      // A read that began before the write may answer the old settings: wait it out, then read.
      await reading;
      return read();
    },
    async logo(file) {
      const ref = (await this.fresh()).logo;
      if (ref === undefined || ref.file !== file) return undefined;
      if (config.logo?.file === file && config.logoBytes !== undefined) {
        return { ref, bytes: config.logoBytes };
      }
      if (savedLogo?.file !== file) {
        const text = await store?.readSetting(SETTING_KEYS.logoBytes);
        if (text === undefined) return undefined;
        savedLogo = { file, bytes: Buffer.from(text, "base64") };
      }
      return { ref, bytes: savedLogo.bytes };
    },
  };
}
