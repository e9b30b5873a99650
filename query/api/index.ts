export { type ApiBindings, type ApiEnv, MAX_BODY_BYTES, MAX_URL_LENGTH } from "./app.js";
export { type ApiErrorCode, apiErrorCodes } from "./errors.js";
export { OPENAPI_PATH, openApiDocument } from "./openapi.js";
export { isoTime, MAX_VALUE_LENGTH, parseIsoTime } from "./parameters.js";
export type { DownDependency } from "./process-endpoints.js";
export {
  configRegistry,
  databaseRegistry,
  MAX_ITEM_BODY_BYTES,
  type RegistryAccess,
} from "./registry-endpoints.js";
export type { ApiReply } from "./reply.js";
export type { Access, ApiRoute } from "./routes.js";
export { DEFAULT_STEP, MAX_OVERVIEW_LIMIT } from "./schemas.js";
export { type ApiServer, type ApiServerDeps, createApiServer } from "./server.js";
