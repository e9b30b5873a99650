/**
 * What the admin pages' routes need (web/pages.ts gives it): the accounts, the portal's settings,
 * the customer registry (customers' messages of the day) and the pages' frame.
 */
import type { Accounts } from "../../accounts/accounts.js";
import type { RegistryAccess } from "../../query/api/registry-endpoints.js";
import type { ApiReply } from "../../query/api/reply.js";
import type { RouteInput } from "../../query/api/routes.js";
import type { Html } from "../html.js";
import type { Area, Viewer } from "../layout.js";
import type { ConfigPortal } from "./portal-settings.js";
import type { SettingsCache } from "./settings-cache.js";

export interface AdminDeps {
  accounts: Accounts;
  settings: SettingsCache;
  /** The config's branding and message of the day (the defaults under the saved settings). */
  portal: ConfigPortal;
  /** The customer registry (the config's read-only with `registry.source: config`). */
  registry: RegistryAccess;
  customerExists(id: string): boolean | Promise<boolean>;
  viewer(input: RouteInput): Viewer | undefined;
  /** A page in the frame of every page (web/layout.ts); `scripts`: with web/static/admin.js. */
  render(
    input: RouteInput,
    status: number,
    title: string,
    body: Html,
    o?: { area?: Area; scripts?: boolean },
  ): ApiReply;
}
