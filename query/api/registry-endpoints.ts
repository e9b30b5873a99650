/**
 * The customer registry over HTTP (docs/api.md#the-customer-registry): customers → sites →
 * access links as items (GET, POST, PATCH, DELETE with ETag / If-Match / If-None-Match), lists
 * (registry-list.ts), the atomic change set (`POST /api/v1/changes`, with a dry run) and the
 * audit log. Handlers parse, call the registry (registry/: a RegistryStore, or the config's
 * customers read-only with `registry.source: config`) and render; the registry's coded errors
 * become 4xx bodies naming the field.
 *
 * The routes are built here from a context the others share (registry-request.ts): items in
 * registry-item-routes.ts, the change set, tree, audit and purge in registry-change-routes.ts;
 * the rows shown in registry-rows.ts, the schemas in registry-schemas.ts, where the registry is
 * read (database or config) in registry-access.ts.
 */
import type { RegistryAccess } from "./registry-access.js";
import { changeRoutes } from "./registry-change-routes.js";
import { itemRoutes } from "./registry-item-routes.js";
import {
  callRegistry,
  type RegistryEndpointOptions,
  type RegistryRouteContext,
} from "./registry-request.js";
import { createCustomerRows } from "./registry-rows.js";
import type { ApiRoute } from "./routes.js";

export {
  configRegistry,
  databaseRegistry,
  MAX_ITEM_BODY_BYTES,
  type RegistryAccess,
  readOnly,
  registryCustomerScope,
  registryCustomers,
} from "./registry-access.js";
export {
  badBody,
  callRegistry,
  problemsOf,
  type RegistryEndpointOptions,
} from "./registry-request.js";
export { CUSTOMER_FIELDS } from "./registry-rows.js";

/** The registry's routes, in the route table's form. */
export function registryRoutes(
  registry: RegistryAccess,
  options: RegistryEndpointOptions,
): ApiRoute[] {
  const registryCall = <T>(fn: () => Promise<T>, base?: string) =>
    callRegistry(fn, base, options.log);
  const ctx: RegistryRouteContext = {
    registry,
    options,
    now: options.now ?? Date.now,
    registryCall,
    snapshot: () => registryCall(() => registry.snapshot()),
  };
  return [...itemRoutes(ctx, createCustomerRows(registry)), ...changeRoutes(ctx)];
}
