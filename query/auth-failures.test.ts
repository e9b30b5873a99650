import { describe, expect, it } from "vitest";
import { clientKey, createAuthFailureTable } from "./auth-failures.js";

const T = 1_800_000_000_000;

describe("auth failure table", () => {
  it("blocks a client at its limit-th failure in a window, until the window ends", () => {
    const t = createAuthFailureTable({ limit: 3, windowMs: 60_000, maxAddresses: 10 });
    expect(t.fail("192.0.2.1", T)).toBe(false);
    expect(t.fail("192.0.2.1", T + 10_000)).toBe(false);
    expect(t.blockedFor("192.0.2.1", T + 10_000)).toBe(0);
    expect(t.fail("192.0.2.1", T + 20_000)).toBe(true);
    // Blocked for the rest of the window that began at the first failure.
    expect(t.blockedFor("192.0.2.1", T + 20_000)).toBe(40_000);
    expect(t.blockedFor("192.0.2.1", T + 59_999)).toBe(1);
    expect(t.blocked(T + 30_000)).toBe(1);
    expect(t.blockedFor("192.0.2.2", T + 30_000)).toBe(0);
    expect(t.blockedFor("192.0.2.1", T + 60_000)).toBe(0);
    expect(t.blocked(T + 60_000)).toBe(0);
    // A new window: the count starts over.
    expect(t.fail("192.0.2.1", T + 60_000)).toBe(false);
    expect(t.blockedFor("192.0.2.1", T + 60_000)).toBe(0);
  });

  it("forgets failures older than the window", () => {
    const t = createAuthFailureTable({ limit: 2, windowMs: 1_000, maxAddresses: 10 });
    t.fail("a", T);
    t.fail("a", T + 1_000); // the first window ended: this is the first of a new one
    expect(t.blockedFor("a", T + 1_000)).toBe(0);
    expect(t.fail("a", T + 1_500)).toBe(true);
    expect(t.blockedFor("a", T + 1_500)).toBe(500);
  });

  it("never blocks longer than a window when the clock goes back", () => {
    const t = createAuthFailureTable({ limit: 1, windowMs: 60_000, maxAddresses: 10 });
    t.fail("a", T);
    expect(t.blockedFor("a", T - 3_600_000)).toBe(60_000);
  });

  it("tracks at most maxAddresses clients, dropping the oldest window, and drops stale ones", () => {
    const t = createAuthFailureTable({ limit: 2, windowMs: 60_000, maxAddresses: 3 });
    t.fail("a", T);
    t.fail("a", T + 1); // a is blocked
    t.fail("b", T + 2);
    t.fail("c", T + 3);
    expect([t.size, t.evictions]).toEqual([3, 0]);
    t.fail("d", T + 4);
    expect([t.size, t.evictions]).toEqual([3, 1]);
    expect(t.blockedFor("a", T + 5)).toBe(0); // a was the oldest
    for (let i = 0; i < 100_000; i += 1) t.fail(`flood-${i}`, T + 10);
    expect([t.size, t.evictions]).toEqual([3, 100_001]);
    // After a window, a failure clears out what went stale instead of evicting.
    t.fail("e", T + 60_010);
    expect([t.size, t.evictions]).toEqual([1, 100_001]);
  });
});

describe("clientKey", () => {
  it("keys IPv4 by address, IPv4-mapped IPv6 as IPv4, IPv6 by its /64", () => {
    expect(clientKey("192.0.2.1")).toBe("192.0.2.1");
    expect(clientKey("::ffff:192.0.2.1")).toBe("192.0.2.1");
    expect(clientKey("::FFFF:c000:0201")).toBe("192.0.2.1");
    expect(clientKey("2001:db8:1:2:aaaa:bbbb:cccc:dddd")).toBe("2001:db8:1:2::/64");
    expect(clientKey("2001:db8:1:2::1")).toBe("2001:db8:1:2::/64");
    expect(clientKey("2001:db8:1:3::1")).toBe("2001:db8:1:3::/64");
    expect(clientKey("fe80::1%eth0")).toBe("fe80::/64");
    expect(clientKey("::1")).toBe("::/64");
    expect(clientKey(undefined)).toBe("unknown");
  });
});
