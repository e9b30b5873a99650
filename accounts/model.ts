/**
 * Accounts: who may use the API. Users with a role (admin, operator, customer, customer-admin),
 * bound to one customer for the two customer roles, authenticated by a local password or by
 * RADIUS; the zod schemas of what the API takes to make and change them.
 */
import { z } from "zod";
import { idSchema } from "../schema/config.js";

function hasControl(s: string): boolean {
  for (let k = 0; k < s.length; k++) {
    const c = s.charCodeAt(k);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

export const ROLES = ["admin", "operator", "customer", "customer-admin"] as const;
export type Role = (typeof ROLES)[number];
export const AUTH_METHODS = ["local", "radius"] as const;
export type AuthMethod = (typeof AUTH_METHODS)[number];

/** Roles bound to one customer. */
export function isCustomerRole(role: Role): role is "customer" | "customer-admin" {
  return role === "customer" || role === "customer-admin";
}

/** A user as the API shows it: never its password hash. */
export interface User {
  id: string;
  role: Role;
  /** The customer of a customer or customer-admin user; absent for the others. */
  customer?: string;
  auth: AuthMethod;
  disabled: boolean;
  createdAt: number;
  updatedAt: number;
}

/** A user as stored: with its password hash (local users with a password). */
export interface StoredUser extends User {
  passwordHash?: string;
}

/**
 * A user id: the config's id characters (letters, digits, `_`, `.`, `-`, at most 64, starting
 * with a letter or digit), so that an id is safe in a path, a log line and an audit entry.
 */
export const userIdSchema = idSchema;

/** Passwords are checked by passwordProblem (password.ts); here only that it is a string. */
const password = z.string();

export const newUserSchema = z
  .strictObject({
    id: userIdSchema,
    role: z.enum(ROLES),
    customer: idSchema.optional(),
    auth: z.enum(AUTH_METHODS).default("local"),
    password: password.optional(),
    disabled: z.boolean().default(false),
  })
  .superRefine((u, ctx) => {
    if (isCustomerRole(u.role) && u.customer === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["customer"],
        message: `is required for role ${u.role}`,
      });
    }
    if (!isCustomerRole(u.role) && u.customer !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["customer"],
        message: `is not allowed for role ${u.role}`,
      });
    }
    if (u.auth === "radius" && u.password !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["password"],
        message: "is not allowed with auth radius",
      });
    }
  });
export type NewUser = z.infer<typeof newUserSchema>;

/** `PATCH /api/v1/users/{id}`: the fields to change; `currentPassword` when a user changes its own. */
export const userPatchSchema = z.strictObject({
  role: z.enum(ROLES).optional(),
  customer: idSchema.nullable().optional(),
  auth: z.enum(AUTH_METHODS).optional(),
  password: password.optional(),
  currentPassword: password.optional(),
  disabled: z.boolean().optional(),
});
export type UserPatch = z.infer<typeof userPatchSchema>;

export const loginSchema = z.strictObject({
  user: z.string().max(256),
  password: z.string().max(4096),
});

/** `POST /api/v1/tokens`: `expiresIn` a number of seconds (at most 10 years). */
export const newTokenSchema = z.strictObject({
  name: z
    .string()
    .min(1)
    .max(100)
    .refine((s) => !hasControl(s), "must not hold control characters"),
  expiresIn: z
    .number()
    .int()
    .min(60)
    .max(10 * 365 * 86_400)
    .optional(),
});

/** A personal API token as listed: never its secret. */
export interface TokenInfo {
  id: string;
  user: string;
  name: string;
  createdAt: number;
  expiresAt: number | null;
  lastUsedAt: number | null;
}

/** One audit entry: who did what to whom, from where; never a password or a secret. */
export interface AccountAuditEntry {
  seq: number;
  at: number;
  actor: string;
  action: string;
  target: string;
  client: string;
  detail: Record<string, unknown>;
}

/** Who a request is: resolved by the API from a cookie, a personal token or an operator token. */
export interface Principal {
  /** The user id; `operator-token` for api.operatorTokens. */
  user: string;
  role: Role;
  customer?: string;
  via: "session" | "token" | "operator-token";
  /** The session's CSRF token (cookie requests only). */
  csrf?: string;
  /** The session's stored id (its SHA-256), to end it at logout. */
  sessionKey?: string;
  /** The personal token's id. */
  tokenId?: string;
  /** How the audit log names the caller when not by `user` (`operator-token:1a2b`). */
  actor?: string;
}
