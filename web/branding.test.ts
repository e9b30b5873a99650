/** portal.branding: validated with messages naming the path, the logo relative to the config. */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildCustomerModel } from "../collector/classify/customer-model.js";
import { parseConfigText, validateConfig } from "../config/load-config.js";
import { createApiServer } from "../query/api/index.js";
import { captureLog } from "../test/support/log-capture.js";
import { brandCss } from "./assets.js";

const problem = (portal: unknown) => {
  try {
    validateConfig({ portal });
  } catch (e) {
    return (e as Error).message;
  }
  return "valid";
};

describe("portal.branding", () => {
  it("has defaults that validate", () => {
    expect(validateConfig({}).portal.branding).toEqual({
      title: "flowtally",
      colors: { primary: "#1f5f99", background: "#f6f7f9", text: "#1b1f24" },
      footer: "",
      loginText: "",
    });
  });

  it("names the path and the reason of a bad value", () => {
    expect(problem({ branding: { colors: { primary: "red;}body{x:y" } } })).toContain(
      'portal.branding.colors.primary: is not a colour "#rgb" or "#rrggbb"',
    );
    expect(problem({ branding: { logo: "logo.exe" } })).toContain(
      "portal.branding.logo: is not a .png, .jpg, .svg or .webp file",
    );
    expect(problem({ branding: { title: "" } })).toContain("portal.branding.title");
    expect(problem({ branding: { colour: "#fff" } })).toContain('unknown key "colour"');
    expect(problem({ branding: { colors: { primary: "#abc" } } })).toBe("valid");
  });

  it("puts only checked colours into the brand stylesheet", () => {
    expect(brandCss({ primary: "#abc", background: "#ffffff", text: "#000" })).toBe(
      ":root{--brand:#abc;--page-bg:#ffffff;--page-text:#000}\n",
    );
  });

  it("reads the logo relative to the config file's directory and serves it named by content", async () => {
    const dir = await mkdtemp(join(tmpdir(), "flowtally-branding-"));
    try {
      const svg = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1"/>';
      await writeFile(join(dir, "logo.svg"), svg);
      const cfg = parseConfigText(
        "api: { listen: 127.0.0.1:0 }\nportal: { branding: { logo: logo.svg } }\n",
        "test.yaml",
        dir,
      );
      expect(cfg.portal.branding.logo).toBe(join(dir, "logo.svg"));
      const missing = parseConfigText(
        "api: { listen: 127.0.0.1:0 }\nportal: { branding: { logo: nowhere.svg } }\n",
        "test.yaml",
        dir,
      );
      const { log } = captureLog();
      const deps = { model: buildCustomerModel(cfg), log, accounts: {} as never };
      expect(() => createApiServer({ ...deps, config: missing })).toThrow(
        /portal\.branding\.logo: ".*nowhere\.svg" cannot be read/,
      );
      const api = createApiServer({ ...deps, config: cfg });
      const logo = api.pages.find((p) => p.path === "/assets/{file}")!;
      const login = api.pages.find((p) => p.path === "/portal/login" && p.method === undefined)!;
      const page = await login.handler({
        params: {},
        search: "",
        header: () => undefined,
        actor: "t",
        client: "t",
      });
      const src = /<img class="logo" src="\/assets\/(logo-[0-9a-f]{12}\.svg)"/.exec(page.body)?.[1];
      expect(src).toBeDefined();
      const served = await logo.handler({
        params: { file: src! },
        search: "",
        header: () => undefined,
        actor: "t",
        client: "t",
      });
      expect(served.contentType).toBe("image/svg+xml");
      expect(Buffer.from(served.bytes!).toString()).toBe(svg);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
