/**
 * The admin pages (docs/console.md#administration) as routes of the one route table: users and
 * one's own API tokens (user-routes.ts), messages of the day and portal branding
 * (settings-routes.ts), the audit logs of the accounts and of the customer registry
 * (audit-routes.ts).
 */
import type { ApiRoute } from "../../query/api/routes.js";
import type { AdminDeps } from "./admin-deps.js";
import { auditRoutes } from "./audit-routes.js";
import { settingsRoutes } from "./settings-routes.js";
import { userRoutes } from "./user-routes.js";

export function adminRoutes(deps: AdminDeps): ApiRoute[] {
  return [...userRoutes(deps), ...settingsRoutes(deps), ...auditRoutes(deps)];
}
