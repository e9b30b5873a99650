/**
 * The admin pages (docs/console.md#administration) as routes of the one route table: users and
 * one's own API tokens (user-routes.ts), messages of the day, portal branding and the audit log
 * (settings-routes.ts).
 */
import type { ApiRoute } from "../../query/api/routes.js";
import type { AdminDeps } from "./admin-deps.js";
import { settingsRoutes } from "./settings-routes.js";
import { userRoutes } from "./user-routes.js";

export function adminRoutes(deps: AdminDeps): ApiRoute[] {
  return [...userRoutes(deps), ...settingsRoutes(deps)];
}
