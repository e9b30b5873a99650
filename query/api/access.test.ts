/** The access rule of the route table, pure: every access level against every kind of caller. */
import { describe, expect, it } from "vitest";
import type { Principal } from "../../accounts/model.js";
import { checkAccess } from "./access.js";
import type { Access } from "./routes.js";

const callers: Record<string, Principal | undefined> = {
  anonymous: undefined,
  admin: { user: "a", role: "admin", via: "session" },
  operator: { user: "o", role: "operator", via: "token" },
  customerAdmin: { user: "ca", role: "customer-admin", customer: "acme", via: "session" },
  customer: { user: "c", role: "customer", customer: "acme", via: "session" },
};

/** The status each caller gets (200: allowed) for `access` on customer `id`. */
function outcome(access: Access, caller: Principal | undefined, id: string): number {
  try {
    checkAccess(access, caller, { id });
    return 200;
  } catch (e) {
    return (e as { status: number }).status;
  }
}

describe("checkAccess", () => {
  const table: Array<[Access, string, number[]]> = [
    // access, customer id, [anonymous, admin, operator, customer-admin, customer]
    ["public", "beta", [200, 200, 200, 200, 200]],
    ["user", "beta", [401, 200, 200, 200, 200]],
    ["admin", "acme", [401, 200, 403, 403, 403]],
    ["operator", "acme", [401, 200, 200, 403, 403]],
    ["customer", "acme", [401, 200, 200, 200, 200]],
    ["customer", "beta", [401, 200, 200, 404, 404]],
    ["customer", "ACME", [401, 200, 200, 404, 404]],
    ["customer-admin", "acme", [401, 200, 200, 200, 403]],
    ["customer-admin", "beta", [401, 200, 200, 404, 404]],
  ];
  for (const [access, id, expected] of table) {
    it(`${access} on ${id}`, () => {
      expect(Object.values(callers).map((c) => outcome(access, c, id))).toEqual(expected);
    });
  }

  it("answers another customer's id with exactly the unknown id's error", () => {
    try {
      checkAccess("customer", callers.customer, { id: "beta" });
      expect.unreachable();
    } catch (e) {
      expect(e).toMatchObject({ status: 404, code: "FT_NOT_FOUND", message: 'no customer "beta"' });
    }
  });
});
