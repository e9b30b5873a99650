export { accountStoreFor, accountsFor } from "./account-database.js";
export {
  ACCOUNT_TABLES_SQL,
  type AccountStore,
  type AuditSearch,
  createAccountStore,
} from "./account-store.js";
export {
  AccountError,
  type Accounts,
  type AccountsConfig,
  accountsConfigOf,
  createAccounts,
  isAccountError,
  type LoginResult,
  type RadiusCheck,
  type RadiusVerdict,
} from "./accounts.js";
export { createLoginLimiter, DEFAULT_LOGIN_LIMITS, type LoginLimits } from "./login-limits.js";
export {
  type AuthMethod,
  isCustomerRole,
  type NewUser,
  newUserSchema,
  type Principal,
  ROLES,
  type Role,
  type User,
} from "./model.js";
export { hashPassword, OWASP_SCRYPT, passwordProblem, verifyPassword } from "./password.js";
export { SESSION_COOKIE, TOKEN_PREFIX } from "./sessions.js";
