/**
 * Sessions and personal tokens: the rules, pure (the caller passes `now`). A session or a token
 * is 32 random bytes (base64url) the client holds; the database holds only its SHA-256, so a copy
 * of the database logs nobody in. A session ends `idleTimeout` after its last use and
 * `absoluteTimeout` after the login, whichever comes first. Its CSRF token is derived from the
 * session's secret (a SHA-256 under a fixed label): bound to the session, never stored.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

export const SESSION_COOKIE = "__Host-flowtally_session";
/** Personal tokens start with this, so that they are found by secret scanners and told apart. */
export const TOKEN_PREFIX = "ftk_";
export const SECRET_BYTES = 32;

export interface SessionLimits {
  idleTimeoutMs: number;
  absoluteTimeoutMs: number;
}

export const DEFAULT_SESSION_LIMITS: SessionLimits = {
  idleTimeoutMs: 30 * 60_000,
  absoluteTimeoutMs: 12 * 3_600_000,
};

/** A session row's times. */
export interface SessionTimes {
  createdAt: number;
  lastSeenAt: number;
}

export type SessionState = "valid" | "idle" | "expired";

/** Whether a session is still good at `now`: idle past idleTimeout, or older than absoluteTimeout. */
export function sessionState(s: SessionTimes, now: number, limits: SessionLimits): SessionState {
  if (now - s.createdAt >= limits.absoluteTimeoutMs) return "expired";
  if (now - s.lastSeenAt >= limits.idleTimeoutMs) return "idle";
  return "valid";
}

/** How long the cookie may live: until the session's absolute end (Max-Age, seconds). */
export function cookieMaxAge(s: SessionTimes, now: number, limits: SessionLimits): number {
  return Math.max(0, Math.floor((s.createdAt + limits.absoluteTimeoutMs - now) / 1000));
}

/**
 * Whether a session's last use should be written: only when it moved by a part of the idle
 * timeout (at most a minute), so that a busy client does not write on every request.
 */
export function touchDue(s: SessionTimes, now: number, limits: SessionLimits): boolean {
  return now - s.lastSeenAt >= Math.min(60_000, Math.floor(limits.idleTimeoutMs / 10));
}

export function newSecret(): string {
  return randomBytes(SECRET_BYTES).toString("base64url");
}

export function newToken(): string {
  return `${TOKEN_PREFIX}${newSecret()}`;
}

/** The stored form of a session secret or token: SHA-256, hex. */
export function digestSecret(secret: string): string {
  return createHash("sha256").update(secret, "utf8").digest("hex");
}

/** A session's CSRF token. */
export function csrfToken(sessionSecret: string): string {
  return createHash("sha256")
    .update("flowtally csrf\0", "utf8")
    .update(sessionSecret, "utf8")
    .digest("base64url");
}

/** Compares two strings in constant time (of their SHA-256), whatever their lengths. */
export function sameSecret(a: string, b: string): boolean {
  const da = createHash("sha256").update(a, "utf8").digest();
  const db = createHash("sha256").update(b, "utf8").digest();
  return timingSafeEqual(da, db);
}

/** A secret as the cookie or Authorization header may carry it: base64url of 32 bytes. */
export function looksLikeSecret(s: string): boolean {
  return /^[A-Za-z0-9_-]{43}$/.test(s);
}

export interface CookieOptions {
  maxAgeSeconds: number;
}

/** `Set-Cookie` for a session: `__Host-` (Secure, Path=/, no Domain), HttpOnly, SameSite=Strict. */
export function sessionCookie(secret: string, o: CookieOptions): string {
  return `${SESSION_COOKIE}=${secret}; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=${o.maxAgeSeconds}`;
}

/** `Set-Cookie` that removes the session cookie. */
export function clearedSessionCookie(): string {
  return `${SESSION_COOKIE}=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0`;
}

/** The session cookie's value in a Cookie header, or undefined. */
export function sessionFromCookieHeader(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === SESSION_COOKIE) {
      const v = part.slice(eq + 1).trim();
      return looksLikeSecret(v) ? v : undefined;
    }
  }
  return undefined;
}
