export type { AdminDeps } from "./admin-deps.js";
export { adminRoutes } from "./admin-routes.js";
export { type ConfigPortal, LOGO_POLICY, type PortalSettings } from "./portal-settings.js";
export { createSettingsCache, SETTINGS_TTL_MS, type SettingsCache } from "./settings-cache.js";
