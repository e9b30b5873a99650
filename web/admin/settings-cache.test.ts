/**
 * The portal's settings scaled out: two serving processes' accounts on one PostgreSQL (started by
 * the harness on a free loopback port). What one saves is in force in it at once and in the other
 * once its settings are older than the TTL (a clock the test moves), and never before: the other
 * reads the database again, it is not told. The audit entry is written with the change.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAccountStore } from "../../accounts/account-store.js";
import { type Accounts, createAccounts } from "../../accounts/accounts.js";
import { createPostgresDriver } from "../../registry/postgres-registry.js";
import { type PostgresServer, startPostgres } from "../../test/support/servers.js";
import { SETTING_KEYS } from "./portal-settings.js";
import { createSettingsCache, SETTINGS_TTL_MS } from "./settings-cache.js";

const CONFIG = {
  branding: {
    title: "Config title",
    footer: "Config footer",
    loginText: "",
    colors: { primary: "#1f5f99", background: "#f6f7f9", text: "#1b1f24" },
  },
  motd: "Config motd",
};
const ADMIN = { user: "root", role: "admin", via: "session" } as const;

describe("portal settings on PostgreSQL, two processes", () => {
  let server: PostgresServer;
  const accounts: Accounts[] = [];

  beforeAll(async () => {
    server = await startPostgres();
    const url = await server.database("settings");
    for (let k = 0; k < 2; k++) {
      const a = createAccounts(
        {},
        { store: createAccountStore(createPostgresDriver({ url })), now: () => 1_700_000_000_000 },
      );
      await a.start();
      accounts.push(a);
    }
  }, 60_000);
  afterAll(async () => {
    for (const a of accounts) await a.stop();
    await server?.close();
  });

  it("is in force in the saving process at once, in the other after the TTL, with its audit entry", async () => {
    const clock = { a: 0, b: 0 };
    const a = createSettingsCache(CONFIG, accounts[0], { monotonic: () => clock.a });
    const b = createSettingsCache(CONFIG, accounts[1], { monotonic: () => clock.b });
    expect((await a.fresh()).title).toBe("Config title");
    expect((await b.fresh()).title).toBe("Config title");

    const saved = await a.save(
      new Map([
        [SETTING_KEYS.title, "Saved title"],
        [SETTING_KEYS.motd, ""],
      ]),
      ADMIN,
      "192.0.2.7",
      {
        action: "portal-branding",
        target: "branding",
        detail: { before: { title: "Config title" }, after: { title: "Saved title" } },
      },
    );
    expect(saved.title).toBe("Saved title");
    // Saved key by key: the footer is still the config's; an empty message: none.
    expect(saved.footer).toBe("Config footer");
    expect(saved.motd).toBeUndefined();
    expect([...saved.saved].sort()).toEqual(["motd", "title"]);

    // The other process: its settings are fresh for the TTL, then read again.
    clock.b += SETTINGS_TTL_MS - 1;
    expect((await b.fresh()).title).toBe("Config title");
    clock.b += 1;
    expect((await b.fresh()).title).toBe("Saved title");
    expect(b.current().footer).toBe("Config footer");

    // Back to the config's: the saved value removed.
    await accounts[1]!.writeSettings(new Map([[SETTING_KEYS.title, null]]), ADMIN, "192.0.2.8", {
      action: "portal-branding",
      target: "branding",
      detail: {},
    });
    clock.a += SETTINGS_TTL_MS;
    expect((await a.fresh()).title).toBe("Config title");

    const [entry] = await accounts[1]!.searchAudit({
      action: "portal-branding",
      limit: 10,
      beforeSeq: 2,
    });
    expect(entry).toMatchObject({
      actor: "root",
      target: "branding",
      client: "192.0.2.7",
      detail: { after: { title: "Saved title" } },
    });
  });

  it("serves a saved logo's bytes by its name, and keeps the last settings when a read fails", async () => {
    const logo = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>');
    const cache = createSettingsCache(CONFIG, accounts[0], { monotonic: () => 0 });
    await cache.save(
      new Map([
        [
          SETTING_KEYS.logo,
          JSON.stringify({
            file: "logo-0123456789ab.svg",
            contentType: "image/svg+xml",
            bytes: logo.length,
          }),
        ],
        [SETTING_KEYS.logoBytes, logo.toString("base64")],
      ]),
      ADMIN,
      "t",
      { action: "portal-logo", target: "branding", detail: {} },
    );
    expect(Buffer.from((await cache.logo("logo-0123456789ab.svg"))!.bytes).toString()).toBe(
      logo.toString(),
    );
    expect(await cache.logo("logo-ffffffffffff.svg")).toBeUndefined();

    let clock = 0;
    const failing = createSettingsCache(
      CONFIG,
      { ...accounts[0]!, readSettings: () => Promise.reject(new Error("down")) },
      { monotonic: () => clock },
    );
    expect((await failing.fresh()).title).toBe("Config title");
    clock += SETTINGS_TTL_MS;
    expect((await failing.fresh()).title).toBe("Config title");
  });
});
