export {
  type AppliedChangeSet,
  applyChangeSet,
  type RegistryWrite,
} from "./change-set.js";
export { CustomerList, insertionPoint } from "./customer-list.js";
export { createDuckDbRegistry, type DuckDbRegistryOptions } from "./duckdb-registry.js";
export {
  type AuditEntry,
  type Change,
  type ChangeInput,
  type CustomerRecord,
  type CustomerTreeEntry,
  changeSchema,
  changeSetSchema,
  customerRecordSchema,
  EMPTY_SNAPSHOT,
  type LinkRecord,
  linkRecordSchema,
  type RegistryCustomer,
  type RegistryLink,
  type RegistrySite,
  type RegistrySnapshot,
  recordPath,
  registryCustomerSchema,
  type SiteRecord,
  siteRecordSchema,
} from "./model.js";
export { openRegistry, registryDriver } from "./open-registry.js";
export { createPostgresRegistry, type PostgresRegistryOptions } from "./postgres-registry.js";
export type { RegistryStore } from "./sql-registry.js";
export { describeDiff, diffTree, exportTree, parseTree, type TreeDiff } from "./tree-file.js";
