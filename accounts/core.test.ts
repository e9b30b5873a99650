/**
 * The pure core of accounts: the password policy and hash encoding, session timeouts, cookies and
 * CSRF tokens, and the login limits (with the time passed in, never the clock).
 */
import { describe, expect, it } from "vitest";
import { createLoginLimiter, type LoginLimits } from "./login-limits.js";
import { newUserSchema } from "./model.js";
import {
  hashPassword,
  needsRehash,
  OWASP_SCRYPT,
  parseHash,
  passwordProblem,
  scryptMaxmem,
  verifyPassword,
} from "./password.js";
import {
  cookieMaxAge,
  csrfToken,
  digestSecret,
  newSecret,
  sameSecret,
  sessionCookie,
  sessionFromCookieHeader,
  sessionState,
  touchDue,
} from "./sessions.js";

const CHEAP = { ln: 4, r: 8, p: 1 };

describe("password policy", () => {
  it("takes 12 characters (code points) up to 1024 bytes", () => {
    expect(passwordProblem("a".repeat(11))).toBe("must be at least 12 characters");
    expect(passwordProblem("a".repeat(12))).toBeUndefined();
    // 12 emoji are 12 characters (24 UTF-16 units, 48 bytes).
    expect(passwordProblem("😀".repeat(12))).toBeUndefined();
    expect(passwordProblem("😀".repeat(11))).toBe("must be at least 12 characters");
    expect(passwordProblem("a".repeat(1024))).toBeUndefined();
    expect(passwordProblem("a".repeat(1025))).toBe("must be at most 1024 bytes");
    // 342 × 3-byte characters = 1026 bytes.
    expect(passwordProblem("€".repeat(342))).toBe("must be at most 1024 bytes");
  });
});

describe("password hashes", () => {
  it("are scrypt at OWASP's parameters by default, encoded with them, 16-byte salt, 64-byte key", async () => {
    expect(OWASP_SCRYPT).toEqual({ ln: 17, r: 8, p: 1 });
    // 128 · 2^17 · 8 = 128 MiB is what scrypt needs: maxmem must allow it (Node's default is 32 MiB).
    expect(scryptMaxmem(OWASP_SCRYPT)).toBeGreaterThan(128 * 2 ** 17 * 8);
    const h = await hashPassword("correct horse battery");
    expect(h).toMatch(/^\$scrypt\$ln=17,r=8,p=1\$/);
    const parsed = parseHash(h)!;
    expect(parsed.salt).toHaveLength(16);
    expect(parsed.key).toHaveLength(64);
    expect(await verifyPassword("correct horse battery", h)).toBe(true);
    expect(await verifyPassword("correct horse batterY", h)).toBe(false);
  }, 30_000);

  it("salt each hash, verify with the parameters they were made with, and ask for a rehash when weaker", async () => {
    const a = await hashPassword("same password!", CHEAP);
    const b = await hashPassword("same password!", CHEAP);
    expect(a).not.toBe(b);
    expect(a).toMatch(/^\$scrypt\$ln=4,r=8,p=1\$/);
    expect(await verifyPassword("same password!", a)).toBe(true);
    expect(needsRehash(a)).toBe(true);
    expect(needsRehash(a, CHEAP)).toBe(false);
  });

  it("verify nothing against a hash they cannot read or that asks for too much memory", async () => {
    expect(await verifyPassword("x", "")).toBe(false);
    expect(await verifyPassword("x", "plain text")).toBe(false);
    const h = await hashPassword("some password", CHEAP);
    expect(await verifyPassword("some password", h.replace("ln=4", "ln=30"))).toBe(false);
    expect(parseHash(h.replace("ln=4", "ln=21"))).toBeUndefined();
  });
});

describe("sessions", () => {
  const limits = { idleTimeoutMs: 30 * 60_000, absoluteTimeoutMs: 12 * 3_600_000 };
  const T = 1_000_000_000_000;

  it("end after the idle timeout since the last use, and after the absolute timeout since login", () => {
    const s = { createdAt: T, lastSeenAt: T };
    expect(sessionState(s, T + 30 * 60_000 - 1, limits)).toBe("valid");
    expect(sessionState(s, T + 30 * 60_000, limits)).toBe("idle");
    const busy = { createdAt: T, lastSeenAt: T + 12 * 3_600_000 - 60_000 };
    expect(sessionState(busy, T + 12 * 3_600_000 - 1, limits)).toBe("valid");
    expect(sessionState(busy, T + 12 * 3_600_000, limits)).toBe("expired");
    expect(cookieMaxAge(s, T, limits)).toBe(12 * 3600);
    expect(cookieMaxAge(s, T + 3_600_000, limits)).toBe(11 * 3600);
  });

  it("write the last use at most once a minute (or a tenth of a short idle timeout)", () => {
    const s = { createdAt: T, lastSeenAt: T };
    expect(touchDue(s, T + 59_999, limits)).toBe(false);
    expect(touchDue(s, T + 60_000, limits)).toBe(true);
    expect(touchDue(s, T + 1000, { idleTimeoutMs: 10_000, absoluteTimeoutMs: 60_000 })).toBe(true);
  });

  it("are 32 random bytes, stored as SHA-256, with a CSRF token bound to the secret", () => {
    const a = newSecret();
    const b = newSecret();
    expect(Buffer.from(a, "base64url")).toHaveLength(32);
    expect(a).not.toBe(b);
    // SHA-256 of "abc", hex (FIPS 180-2 test vector).
    expect(digestSecret("abc")).toBe(
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    );
    expect(csrfToken(a)).toBe(csrfToken(a));
    expect(csrfToken(a)).not.toBe(csrfToken(b));
    expect(csrfToken(a)).not.toContain(a);
    expect(sameSecret("x", "x")).toBe(true);
    expect(sameSecret("x", "xy")).toBe(false);
  });

  it("travel in a __Host- cookie: Secure, HttpOnly, SameSite=Strict, Path=/, no Domain", () => {
    const secret = newSecret();
    const c = sessionCookie(secret, { maxAgeSeconds: 60 });
    const parts = c.split("; ");
    expect(parts[0]).toBe(`__Host-flowtally_session=${secret}`);
    expect(parts.slice(1).sort()).toEqual(
      ["HttpOnly", "Max-Age=60", "Path=/", "SameSite=Strict", "Secure"].sort(),
    );
    expect(sessionFromCookieHeader(`a=1; __Host-flowtally_session=${secret}; b=2`)).toBe(secret);
    expect(sessionFromCookieHeader("flowtally_session=x")).toBeUndefined();
    expect(sessionFromCookieHeader("__Host-flowtally_session=not-a-secret")).toBeUndefined();
  });
});

describe("users", () => {
  it("of the customer roles name a customer; the others do not; RADIUS users have no password", () => {
    expect(newUserSchema.safeParse({ id: "c1", role: "customer" }).success).toBe(false);
    expect(
      newUserSchema.safeParse({ id: "c1", role: "customer-admin", customer: "acme" }).success,
    ).toBe(true);
    expect(newUserSchema.safeParse({ id: "o1", role: "operator", customer: "acme" }).success).toBe(
      false,
    );
    expect(
      newUserSchema.safeParse({ id: "r1", role: "admin", auth: "radius", password: "x".repeat(12) })
        .success,
    ).toBe(false);
    expect(newUserSchema.safeParse({ id: "../x", role: "admin" }).success).toBe(false);
    expect(newUserSchema.safeParse({ id: "a", role: "admin", extra: 1 }).success).toBe(false);
  });
});

describe("login limits", () => {
  const limits: LoginLimits = {
    windowMs: 60_000,
    perAddress: 10,
    perUserAddress: 3,
    perUser: 5,
    trustedForMs: 86_400_000,
    maxEntries: 1000,
  };
  const T = 5_000_000;

  it("stop one address guessing one user after perUserAddress failures, until the window ends", () => {
    const l = createLoginLimiter(limits);
    for (let k = 0; k < 3; k++) {
      expect(l.check("ann", "198.51.100.1", T + k).ok).toBe(true);
      l.failed("ann", "198.51.100.1", T + k);
    }
    expect(l.check("ann", "198.51.100.1", T + 10)).toEqual({
      ok: false,
      retryAfterMs: 60_000 - 10,
      limit: "perUserAddress",
    });
    // The same address may still try another name; ANN is ann.
    expect(l.check("bob", "198.51.100.1", T + 10).ok).toBe(true);
    expect(l.check("ANN", "198.51.100.1", T + 10).ok).toBe(false);
    expect(l.check("ann", "198.51.100.1", T + 60_000).ok).toBe(true);
  });

  it("stop one address trying many names after perAddress failures", () => {
    const l = createLoginLimiter(limits);
    for (let k = 0; k < 10; k++) l.failed(`user${k}`, "198.51.100.2", T);
    expect(l.check("someone-else", "198.51.100.2", T + 1)).toMatchObject({
      ok: false,
      limit: "perAddress",
    });
    expect(l.check("someone-else", "198.51.100.3", T + 1).ok).toBe(true);
  });

  it("never lock a user out of an address it logged in from, however many addresses guess", () => {
    const l = createLoginLimiter(limits);
    // ann logs in from home.
    l.succeeded("ann", "192.0.2.10", T);
    // Five attackers, one failure each: the per-user budget is spent.
    for (let k = 0; k < 5; k++) l.failed("ann", `203.0.113.${k}`, T + 1000);
    // A sixth attacker address is refused for ann...
    expect(l.check("ann", "203.0.113.99", T + 2000)).toMatchObject({ ok: false, limit: "perUser" });
    // ...ann at home is not.
    expect(l.check("ann", "192.0.2.10", T + 2000).ok).toBe(true);
    // Another user is not touched.
    expect(l.check("bob", "203.0.113.99", T + 2000).ok).toBe(true);
    // The trust ends after trustedFor.
    l.failed("ann", "203.0.113.1", T + 86_400_000 - 1000);
    for (let k = 0; k < 5; k++) l.failed("ann", `203.0.113.${k}`, T + 86_400_000);
    expect(l.check("ann", "192.0.2.10", T + 86_400_000 + 1).ok).toBe(false);
  });

  it("clear the (user, address) budget on success", () => {
    const l = createLoginLimiter(limits);
    l.failed("ann", "192.0.2.10", T);
    l.failed("ann", "192.0.2.10", T);
    l.succeeded("ann", "192.0.2.10", T + 1);
    l.failed("ann", "192.0.2.10", T + 2);
    l.failed("ann", "192.0.2.10", T + 2);
    expect(l.check("ann", "192.0.2.10", T + 3).ok).toBe(true);
  });
});
