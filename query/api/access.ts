/**
 * The access rule of the route table (routes.ts `Access`), pure: whether a principal may call a
 * route with these path parameters. Refusals are thrown as the answers they are: 401 without a
 * principal, 403 for a role the route is not for, and for a customer credential on a
 * customer-scoped route of another customer exactly the 404 of an unknown customer id.
 */
import { isCustomerRole, type Principal } from "../../accounts/model.js";
import { ApiError, unknownCustomer } from "./errors.js";
import type { Access } from "./routes.js";

export function forbidden(message: string): ApiError {
  return new ApiError(403, "FT_FORBIDDEN", message);
}

export function unauthorized(message: string, headers = {}): ApiError {
  return new ApiError(401, "FT_UNAUTHORIZED", message, undefined, {
    "www-authenticate": 'Bearer realm="flowtally"',
    ...headers,
  });
}

const isOperator = (p: Principal) => p.role === "admin" || p.role === "operator";

/** Throws unless `principal` may call a route of `access` with `params`. */
export function checkAccess(
  access: Access,
  principal: Principal | undefined,
  params: Readonly<Record<string, string>>,
): void {
  if (access === "public") return;
  if (principal === undefined) throw unauthorized("this route needs credentials");
  switch (access) {
    case "user":
      return;
    case "admin":
      if (principal.role !== "admin") throw forbidden("this route is for admins");
      return;
    case "operator":
      if (!isOperator(principal)) throw forbidden("this route is for operators");
      return;
    case "customer":
    case "customer-admin": {
      if (isOperator(principal)) return;
      const id = params.id ?? "";
      if (!isCustomerRole(principal.role) || principal.customer !== id) throw unknownCustomer(id);
      if (access === "customer-admin" && principal.role !== "customer-admin") {
        throw forbidden("this route is for a customer's admins");
      }
      return;
    }
  }
}
