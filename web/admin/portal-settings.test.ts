/** The portal's settings over the config's, key by key; the branding form; uploaded logos by their bytes. */
import { describe, expect, it } from "vitest";
import {
  brandingChanges,
  checkLogo,
  MAX_LOGO_BYTES,
  mergeSettings,
  motdChange,
  SETTING_KEYS,
} from "./portal-settings.js";

const CONFIG = {
  branding: {
    title: "Example Networks",
    footer: "Support +1 555 0100",
    loginText: "Log in",
    colors: { primary: "#1f5f99", background: "#f6f7f9", text: "#1b1f24" },
  },
  motd: "Maintenance Sunday",
  logo: { file: "logo-aaaaaaaaaaaa.png", contentType: "image/png", bytes: 10 },
};
/** The 8-byte PNG signature and an IHDR chunk's start (RFC 2083 §3.1, §4.1.1). */
const PNG = Uint8Array.from([
  0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52,
]);

describe("portal settings", () => {
  it("are the config's until saved, then the saved ones key by key", () => {
    const none = mergeSettings(CONFIG, new Map());
    expect(none).toMatchObject({
      title: "Example Networks",
      motd: "Maintenance Sunday",
      logo: CONFIG.logo,
    });
    expect(none.saved.size).toBe(0);
    const some = mergeSettings(
      CONFIG,
      new Map([
        [SETTING_KEYS.title, "Saved"],
        [SETTING_KEYS.primary, "#0a7d32"],
        [SETTING_KEYS.footer, ""],
        [SETTING_KEYS.motd, ""],
        [SETTING_KEYS.logo, "none"],
      ]),
    );
    expect(some).toMatchObject({
      title: "Saved",
      footer: "",
      loginText: "Log in",
      colors: { primary: "#0a7d32", background: "#f6f7f9", text: "#1b1f24" },
      motd: undefined,
      logo: undefined,
    });
    expect([...some.saved].sort()).toEqual(["footer", "logo", "motd", "primary", "title"]);
  });

  it("checks the branding form by the config's rules; a value equal to the config's removes the saved one", () => {
    const form = new URLSearchParams({
      title: "  New  ",
      footer: "Support +1 555 0100",
      primary: "#0A7D32",
    });
    const { changes, problems } = brandingChanges(CONFIG, form);
    expect(problems).toEqual({});
    expect(changes).toEqual(
      new Map([
        [SETTING_KEYS.title, "New"],
        [SETTING_KEYS.footer, null],
        [SETTING_KEYS.primary, "#0A7D32"],
      ]),
    );
    const bad = brandingChanges(
      CONFIG,
      new URLSearchParams({ title: "", primary: "red;}body{x:y", footer: "x".repeat(1001) }),
    );
    expect(Object.keys(bad.problems).sort()).toEqual(["footer", "primary", "title"]);
    expect(bad.problems.primary).toBe('is not a colour "#rgb" or "#rrggbb"');
    expect(motdChange(CONFIG, "Maintenance Sunday\r\n")).toEqual({ value: null });
    expect(motdChange(CONFIG, "")).toEqual({ value: "" });
    expect(motdChange(CONFIG, "x".repeat(4097))).toEqual({
      problem: "is longer than 4096 characters",
    });
  });

  it("takes a logo by its bytes: PNG, JPEG, WebP, SVG; nothing else, nothing empty or too large", () => {
    expect(checkLogo(PNG)).toMatchObject({ ref: { contentType: "image/png", bytes: 16 } });
    expect((checkLogo(PNG) as { ref: { file: string } }).ref.file).toMatch(
      /^logo-[0-9a-f]{12}\.png$/,
    );
    expect(checkLogo(Uint8Array.from([0xff, 0xd8, 0xff, 0xe0]))).toMatchObject({
      ref: { contentType: "image/jpeg" },
    });
    const webp = Buffer.from("RIFF\u0000\u0000\u0000\u0000WEBPVP8 ", "latin1");
    expect(checkLogo(webp)).toMatchObject({ ref: { contentType: "image/webp" } });
    const svg = Buffer.from(
      '<?xml version="1.0"?>\n<!-- logo -->\n<svg xmlns="http://www.w3.org/2000/svg"/>',
    );
    expect(checkLogo(svg)).toMatchObject({ ref: { contentType: "image/svg+xml" } });
    expect(checkLogo(Buffer.from("<html><svg></svg></html>"))).toEqual({
      problem: "is not a PNG, JPEG, WebP or SVG image",
    });
    expect(checkLogo(Buffer.from("GIF89a"))).toEqual({
      problem: "is not a PNG, JPEG, WebP or SVG image",
    });
    expect(checkLogo(new Uint8Array())).toEqual({ problem: "choose a file" });
    const large = new Uint8Array(MAX_LOGO_BYTES + 1);
    large.set(PNG);
    expect(checkLogo(large)).toEqual({ problem: "is larger than 256 KiB" });
  });
});
