/**
 * The settings API (`/api/v1/settings/branding`, `/api/v1/settings/motd`) over HTTP: admins read
 * and change what the admin pages change, through the same saves: bad values answer 422 naming
 * each field and save nothing, a change shows on the portal's login page and in a customer's
 * `me`, null puts the config's back, every change is in the accounts audit log with before and
 * after, and the branding page shows what the API saved. Operators and customers: 403.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  PASSWORD,
  startWebServer,
  TOKEN,
  type WebServer,
  webConfig,
} from "../../test/support/web-fixture.js";

let s: WebServer;
beforeAll(async () => {
  s = await startWebServer();
}, 60_000);
afterAll(async () => {
  await s?.close();
});

const admin = { authorization: `Bearer ${TOKEN}` };
const CONFIG = webConfig().portal.branding;

async function cookieOf(user: string): Promise<string> {
  const r = await s.http("POST", "/api/v1/session", { body: { user, password: PASSWORD } });
  expect(r.status).toBe(200);
  return String(r.headers["set-cookie"]).split(";")[0]!;
}

describe("settings API", () => {
  it("branding: read, refused values named, a change in force on the portal, null back to the config's, audited", async () => {
    const first = await s.http("GET", "/api/v1/settings/branding", { headers: admin });
    expect(first.status).toBe(200);
    expect(first.json).toEqual({
      title: "Example Networks portal",
      footer: "Example Networks · support +1 555 0100",
      loginText: "Customers of Example Networks: log in with the account we sent you.",
      colors: { primary: "#6a1b9a", background: "#f6f7f9", text: "#1b1f24" },
      logo: null,
      saved: [],
    });

    const bad = await s.http("PUT", "/api/v1/settings/branding", {
      headers: admin,
      body: { title: "x".repeat(201), footer: "fine", colors: { primary: "red" } },
    });
    expect([bad.status, bad.json.error.code, bad.json.error.parameter]).toEqual([
      422,
      "FT_SETTINGS_INVALID",
      "title",
    ]);
    expect(bad.json.error.problems.map((p: { path: string }) => p.path)).toEqual([
      "title",
      "colors.primary",
    ]);
    // Nothing saved, the good field neither.
    expect((await s.http("GET", "/api/v1/settings/branding", { headers: admin })).json).toEqual(
      first.json,
    );
    const unknown = await s.http("PUT", "/api/v1/settings/branding", {
      headers: admin,
      body: { tagline: "x" },
    });
    expect([unknown.status, unknown.json.error.code]).toEqual([400, "FT_BAD_BODY"]);
    const wrongType = await s.http("PUT", "/api/v1/settings/branding", {
      headers: admin,
      body: { colors: { text: 5 } },
    });
    expect(wrongType.status).toBe(400);

    const put = await s.http("PUT", "/api/v1/settings/branding", {
      headers: admin,
      body: { title: "Automated <Portal>", colors: { primary: "#112233" } },
    });
    expect(put.status).toBe(200);
    expect(put.json.title).toBe("Automated <Portal>");
    expect(put.json.colors.primary).toBe("#112233");
    expect(put.json.saved).toEqual(["primary", "title"]);
    const login = await s.http("GET", "/portal/login");
    expect(login.text).toContain("Automated &lt;Portal&gt;");
    // The admin page shows what the API saved (one store, one code path).
    const page = await s.http("GET", "/console/admin/branding", { headers: admin });
    expect(page.text).toContain('value="Automated &lt;Portal&gt;"');

    const back = await s.http("PUT", "/api/v1/settings/branding", {
      headers: admin,
      body: { title: null },
    });
    expect([back.json.title, back.json.saved]).toEqual([CONFIG.title, ["primary"]]);
    const same = await s.http("PUT", "/api/v1/settings/branding", { headers: admin, body: {} });
    expect(same.json).toEqual(back.json);

    const audit = await s.http("GET", "/api/v1/accounts/audit", { headers: admin });
    const branding = audit.json.entries.filter(
      (e: { action: string }) => e.action === "portal-branding",
    );
    expect(branding.map((e: { detail: unknown }) => e.detail)).toEqual([
      {
        before: { title: CONFIG.title, primary: "#6a1b9a" },
        after: { title: "Automated <Portal>", primary: "#112233" },
      },
      { before: { title: "Automated <Portal>" }, after: { title: CONFIG.title } },
    ]);
    expect(branding[0].actor).toBe("operator-token");
    // Back to the config's entirely, for the other tests.
    await s.http("PUT", "/api/v1/settings/branding", {
      headers: admin,
      body: { colors: { primary: null } },
    });
  });

  it("global message of the day: 422 over 4096 characters, a change in the customers' me, null back to the config's, audited", async () => {
    const first = await s.http("GET", "/api/v1/settings/motd", { headers: admin });
    expect(first.json).toEqual({
      motd: "Maintenance on Sunday 02:00 UTC",
      source: "config",
      config: "Maintenance on Sunday 02:00 UTC",
    });
    const long = await s.http("PUT", "/api/v1/settings/motd", {
      headers: admin,
      body: { motd: "x".repeat(4097) },
    });
    expect([long.status, long.json.error.problems]).toEqual([
      422,
      [{ path: "motd", reason: "is longer than 4096 characters" }],
    ]);
    const missing = await s.http("PUT", "/api/v1/settings/motd", { headers: admin, body: {} });
    expect([missing.status, missing.json.error.code]).toEqual([400, "FT_BAD_BODY"]);

    const put = await s.http("PUT", "/api/v1/settings/motd", {
      headers: admin,
      body: { motd: "API-MOTD-3b8e upgrade tonight" },
    });
    expect(put.json).toEqual({
      motd: "API-MOTD-3b8e upgrade tonight",
      source: "saved",
      config: "Maintenance on Sunday 02:00 UTC",
    });
    const acme = await cookieOf("acme-user");
    const me = await s.http("GET", "/api/v1/me", { headers: { cookie: acme } });
    expect(me.json.motd.global).toBe("API-MOTD-3b8e upgrade tonight");
    const none = await s.http("PUT", "/api/v1/settings/motd", {
      headers: admin,
      body: { motd: "" },
    });
    expect([none.json.motd, none.json.source]).toEqual([null, "saved"]);
    const config = await s.http("PUT", "/api/v1/settings/motd", {
      headers: admin,
      body: { motd: null },
    });
    expect(config.json).toEqual(first.json);

    const audit = await s.http("GET", "/api/v1/accounts/audit", { headers: admin });
    const motd = audit.json.entries.filter((e: { action: string }) => e.action === "motd-global");
    expect(motd.map((e: { detail: unknown }) => e.detail)).toEqual([
      {
        before: "Maintenance on Sunday 02:00 UTC",
        after: "API-MOTD-3b8e upgrade tonight",
        source: "saved",
      },
      { before: "API-MOTD-3b8e upgrade tonight", after: null, source: "saved" },
      { before: null, after: "Maintenance on Sunday 02:00 UTC", source: "config" },
    ]);
  });

  it("operators and customers get 403; a cookie without the CSRF token is refused", async () => {
    for (const user of ["ops", "acme-user"]) {
      const cookie = await cookieOf(user);
      for (const path of ["/api/v1/settings/branding", "/api/v1/settings/motd"]) {
        const r = await s.http("GET", path, { headers: { cookie } });
        expect([r.status, r.json.error.code], `${user} ${path}`).toEqual([403, "FT_FORBIDDEN"]);
      }
    }
    await s.accounts.addUser(
      { id: "root", role: "admin", auth: "local", password: PASSWORD } as never,
      { user: "operator-token", role: "admin", via: "operator-token" },
      "test",
    );
    const root = await cookieOf("root");
    const r = await s.http("PUT", "/api/v1/settings/motd", {
      headers: { cookie: root },
      body: { motd: "no csrf" },
    });
    expect([r.status, r.json.error.code]).toEqual([403, "FT_CSRF"]);
  });
});
