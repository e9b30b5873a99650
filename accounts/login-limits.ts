/**
 * Login rate limits, pure (the caller passes `now`) and bounded in memory. Three budgets of failed
 * logins per window (api.login):
 *
 * - per client address (IPv6: per /64): `perAddress` failures, then that address waits;
 * - per (user name, address): `perUserAddress` failures, then that address waits for that name;
 * - per user name, over all addresses: `perUser` failures, then the name waits — but only at
 *   addresses that have not logged that user in within `trustedFor`.
 *
 * An attacker guessing one user's password from many addresses exhausts the per-user budget, but
 * the user keeps logging in from the addresses it used before: the lock never reaches them. A
 * success clears that (user, address) budget. Unknown names are counted as known ones are, so a
 * 429 says nothing about whether a user exists.
 */

export interface LoginLimits {
  windowMs: number;
  perAddress: number;
  perUserAddress: number;
  perUser: number;
  trustedForMs: number;
  /** Keys tracked per table at once; when full, the oldest is dropped. */
  maxEntries: number;
}

export const DEFAULT_LOGIN_LIMITS: LoginLimits = {
  windowMs: 15 * 60_000,
  perAddress: 50,
  perUserAddress: 5,
  perUser: 100,
  trustedForMs: 30 * 86_400_000,
  maxEntries: 100_000,
};

export type LoginCheck = { ok: true } | { ok: false; retryAfterMs: number; limit: string };

export interface LoginLimiter {
  check(user: string, client: string, now: number): LoginCheck;
  failed(user: string, client: string, now: number): void;
  succeeded(user: string, client: string, now: number): void;
}

interface Window {
  since: number;
  count: number;
}

/** Fixed windows per key, oldest first in the Map (so stale ones and eviction are at its head). */
function createCounter(windowMs: number, maxEntries: number) {
  const entries = new Map<string, Window>();
  const live = (key: string, now: number) => {
    const e = entries.get(key);
    if (e === undefined) return undefined;
    if (now >= e.since + windowMs || now < e.since - windowMs) {
      entries.delete(key);
      return undefined;
    }
    return e;
  };
  return {
    /** The failures of `key` in its window, and when that window ends. */
    get(key: string, now: number): Window | undefined {
      return live(key, now);
    },
    add(key: string, now: number): void {
      for (const [k, e] of entries) {
        if (now < e.since + windowMs) break;
        entries.delete(k);
      }
      let e = live(key, now);
      if (e === undefined) {
        if (entries.size >= maxEntries) entries.delete(entries.keys().next().value as string);
        e = { since: now, count: 0 };
        entries.set(key, e);
      }
      e.count += 1;
    },
    clear(key: string): void {
      entries.delete(key);
    },
    get size() {
      return entries.size;
    },
  };
}

/** A user name as limited: case folded, at most 256 characters. */
export function limitName(user: string): string {
  return user.slice(0, 256).toLowerCase();
}

export function createLoginLimiter(limits: LoginLimits = DEFAULT_LOGIN_LIMITS): LoginLimiter {
  const { windowMs, maxEntries } = limits;
  const byAddress = createCounter(windowMs, maxEntries);
  const byUserAddress = createCounter(windowMs, maxEntries);
  const byUser = createCounter(windowMs, maxEntries);
  /** (user, address) → last success; re-inserted on success, so the oldest is at the head. */
  const trusted = new Map<string, number>();
  const pair = (user: string, client: string) => `${limitName(user)}\u0000${client}`;

  const over = (w: Window | undefined, limit: number, now: number) =>
    w !== undefined && w.count >= limit ? w.since + windowMs - now : 0;

  function isTrusted(key: string, now: number): boolean {
    const at = trusted.get(key);
    if (at === undefined) return false;
    if (now - at >= limits.trustedForMs || now < at - limits.trustedForMs) {
      trusted.delete(key);
      return false;
    }
    return true;
  }

  return {
    check(user, client, now) {
      const key = pair(user, client);
      const address = over(byAddress.get(client, now), limits.perAddress, now);
      if (address > 0) return { ok: false, retryAfterMs: address, limit: "perAddress" };
      const userAddress = over(byUserAddress.get(key, now), limits.perUserAddress, now);
      if (userAddress > 0) return { ok: false, retryAfterMs: userAddress, limit: "perUserAddress" };
      const name = over(byUser.get(limitName(user), now), limits.perUser, now);
      if (name > 0 && !isTrusted(key, now)) {
        return { ok: false, retryAfterMs: name, limit: "perUser" };
      }
      return { ok: true };
    },
    failed(user, client, now) {
      byAddress.add(client, now);
      byUserAddress.add(pair(user, client), now);
      byUser.add(limitName(user), now);
    },
    succeeded(user, client, now) {
      const key = pair(user, client);
      byUserAddress.clear(key);
      trusted.delete(key);
      if (trusted.size >= maxEntries) trusted.delete(trusted.keys().next().value as string);
      trusted.set(key, now);
    },
  };
}
