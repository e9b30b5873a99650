import { describe, expect, it } from "vitest";
import { parseConfigText } from "../config/load-config.js";
import { redactSecrets } from "../config/redact-secrets.js";
import { isFlowtallyError } from "../schema/errors.js";
import { radiusClientConfig } from "./radius-config.js";

const problem = (text: string) => {
  try {
    parseConfigText(text);
    return "valid";
  } catch (e) {
    expect(isFlowtallyError(e, "FT_CONFIG_INVALID")).toBe(true);
    return (e as Error).message.split("\n").slice(1).join("\n").trim();
  }
};

describe("radius config", () => {
  it("is optional; a server's port defaults to 1812, timeout to 3s, retries to 2", () => {
    expect(parseConfigText("").radius).toBeUndefined();
    const cfg = parseConfigText(`radius:
  servers:
    - { host: 192.0.2.10, secret: "a-shared-secret-of-some-length" }
    - { host: "2001:db8::10", port: 11812, secretEnv: RADIUS_SECRET_2 }
`);
    expect(cfg.radius).toEqual({
      servers: [
        { host: "192.0.2.10", port: 1812, secret: "a-shared-secret-of-some-length" },
        { host: "2001:db8::10", port: 11812, secretEnv: "RADIUS_SECRET_2" },
      ],
      timeout: 3000,
      retries: 2,
    });
    expect(
      parseConfigText(`radius: { servers: [{ host: ::1, secret: s }], timeout: 500ms, retries: 0 }`)
        .radius,
    ).toMatchObject({ timeout: 500, retries: 0 });
  });

  it("refuses unknown keys, a bad host or port, no servers, and anything but exactly one of secret and secretEnv", () => {
    expect(problem(`radius: { servers: [{ host: 127.0.0.1, secret: s }], retry: 3 }`)).toBe(
      'radius: unknown key "retry"',
    );
    expect(problem(`radius: { servers: [{ host: 127.0.0.1, secret: s, nas: x }] }`)).toBe(
      'radius.servers[0]: unknown key "nas"',
    );
    expect(problem(`radius: { servers: [{ host: radius.example, secret: s }] }`)).toBe(
      "radius.servers[0].host: is not an IP address",
    );
    expect(problem(`radius: { servers: [{ host: 127.0.0.1, port: 0, secret: s }] }`)).toMatch(
      /^radius\.servers\[0\]\.port: /,
    );
    expect(problem(`radius: { servers: [] }`)).toBe(
      "radius.servers: is empty: leave radius out, or name a server",
    );
    expect(problem(`radius: { servers: [{ host: 127.0.0.1 }] }`)).toBe(
      "radius.servers[0].secret: give either secret or secretEnv (exactly one)",
    );
    expect(problem(`radius: { servers: [{ host: 127.0.0.1, secret: s, secretEnv: S }] }`)).toBe(
      "radius.servers[0].secretEnv: give either secret or secretEnv (exactly one)",
    );
    expect(problem(`radius: { servers: [{ host: 127.0.0.1, secret: "" }] }`)).toMatch(
      /^radius\.servers\[0\]\.secret: /,
    );
    expect(problem(`radius: { servers: [{ host: 127.0.0.1, secretEnv: "A-B" }] }`)).toBe(
      "radius.servers[0].secretEnv: is not an environment variable name such as RADIUS_SECRET",
    );
    expect(problem(`radius: { servers: [{ host: 127.0.0.1, secret: s }], timeout: 0 }`)).toBe(
      "radius.timeout: must be at least 100ms (got 0s)",
    );
    expect(problem(`radius: { servers: [{ host: 127.0.0.1, secret: s }], retries: 11 }`)).toMatch(
      /^radius\.retries: /,
    );
  });

  it("check-config shows a secret as (set), and the name of a secretEnv", () => {
    const cfg = parseConfigText(`radius:
  servers:
    - { host: 192.0.2.10, secret: "do-not-show-this-secret" }
    - { host: 192.0.2.11, secretEnv: RADIUS_SECRET_2 }
`);
    const shown = JSON.stringify(redactSecrets(cfg));
    expect(shown).not.toContain("do-not-show-this-secret");
    expect((redactSecrets(cfg) as typeof cfg).radius?.servers).toEqual([
      { host: "192.0.2.10", port: 1812, secret: "(set)" },
      { host: "192.0.2.11", port: 1812, secretEnv: "RADIUS_SECRET_2" },
    ]);
  });

  it("reads a secretEnv from the environment, naming the key and the variable when it is missing", () => {
    const radius = parseConfigText(`radius:
  servers:
    - { host: 192.0.2.10, secret: "written-secret" }
    - { host: 192.0.2.11, port: 1645, secretEnv: RADIUS_B }
    - { host: 192.0.2.12, secretEnv: RADIUS_C }
`).radius!;
    expect(radiusClientConfig(radius, { RADIUS_B: "from-env-b", RADIUS_C: "from-env-c" })).toEqual({
      servers: [
        { host: "192.0.2.10", port: 1812, secret: "written-secret" },
        { host: "192.0.2.11", port: 1645, secret: "from-env-b" },
        { host: "192.0.2.12", port: 1812, secret: "from-env-c" },
      ],
      timeout: 3000,
      retries: 2,
    });
    let error: unknown;
    try {
      radiusClientConfig(radius, { RADIUS_B: "", OTHER: "from-env-c" });
    } catch (e) {
      error = e;
    }
    expect(isFlowtallyError(error, "FT_CONFIG_INVALID")).toBe(true);
    expect((error as Error).message).toBe(
      "invalid config\n  radius.servers[1].secretEnv: the environment variable RADIUS_B is empty\n  radius.servers[2].secretEnv: the environment variable RADIUS_C is not set",
    );
    expect((error as Error).message).not.toContain("written-secret");
  });
});
