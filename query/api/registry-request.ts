/**
 * What the registry's routes share to read a request and answer: bodies and their problems,
 * entity tags, and the registry's coded errors as HTTP answers.
 */
import type { Logger } from "pino";
import type { z } from "zod";
import { formatPath, issueReason } from "../../config/path.js";
import type { RegistrySnapshot } from "../../registry/index.js";
import { isFlowtallyError } from "../../schema/errors.js";
import { ApiError, type BodyProblem, notFound, shown, shownName } from "./errors.js";
import type { RegistryAccess } from "./registry-access.js";
import { ErrorBody } from "./schemas.js";

// --- Requests ---------------------------------------------------------------------------------

export const json = (schema: z.ZodType) => ({ "application/json": schema });
export const error = (description: string) => ({ description, content: json(ErrorBody) });
export const ETAG_HEADERS = "ETag: the item's revision, quoted";

export function etag(revision: number): string {
  return `"${revision}"`;
}

/**
 * The revisions an `If-Match` / `If-None-Match` header names: `*` (any), or strong entity tags
 * (`"12"`); weak ones (`W/"12"`) never match a strong comparison and are left out.
 */
export function entityTags(header: string): "*" | number[] {
  if (header.trim() === "*") return "*";
  const out: number[] = [];
  for (const m of header.matchAll(/(W\/)?"([^"]*)"/g)) {
    if (m[1] === undefined && /^[0-9]{1,15}$/.test(m[2]!)) out.push(Number(m[2]));
  }
  return out;
}

/** Zod's issues as problems; an unknown key is named in the path (`changes[0].colour`). */
export function problemsOf(
  issues: readonly z.core.$ZodIssue[],
  prefix: readonly PropertyKey[] = [],
) {
  return issues.flatMap((i): BodyProblem[] =>
    i.code === "unrecognized_keys"
      ? i.keys.map((key) => ({
          path: formatPath([...prefix, ...i.path, key]),
          reason: "is not a field of this record",
        }))
      : [{ path: formatPath([...prefix, ...i.path]), reason: issueReason(i) }],
  );
}

export function badBody(message: string, problems: readonly BodyProblem[]): ApiError {
  return new ApiError(400, "FT_BAD_BODY", message, undefined, {}, { problems });
}

/** The body as a JSON object, or a 400 naming what it is instead. */
export function bodyObject(body: unknown): Record<string, unknown> {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw badBody("the request body must be a JSON object", [
      { path: "", reason: body === undefined ? "the body is empty" : "not an object" },
    ]);
  }
  return body as Record<string, unknown>;
}

/** Unknown fields of a body, all named in one answer. */
/** What a customer-admin may change (the seed's cCPE customer administrators): names and words. */
export const CUSTOMER_ADMIN_FIELDS: ReadonlySet<string> = new Set(["name", "description"]);

export function refuseBeyondNames(body: Record<string, unknown>): void {
  const refused = Object.keys(body).filter((k) => !CUSTOMER_ADMIN_FIELDS.has(k));
  if (refused.length === 0) return;
  throw new ApiError(
    403,
    "FT_FORBIDDEN",
    `a customer-admin may change only the name and description, not ${refused.map((k) => shown(k)).join(", ")}`,
    shownName(refused[0]!),
  );
}

export function refuseUnknown(body: Record<string, unknown>, known: readonly string[]): void {
  const unknown = Object.keys(body).filter((k) => !known.includes(k));
  if (unknown.length > 0) {
    throw badBody(
      `unknown field${unknown.length > 1 ? "s" : ""} ${unknown.map(shown).join(", ")}; this body takes ${known.join(", ")}`,
      unknown.map((k) => ({ path: k, reason: "is not a field of this record" })),
    );
  }
}

/**
 * An FT_REGISTRY_INVALID message's lines (`path: reason`) as problems; `base` (the record an item
 * route writes) is taken off their paths, so that they name the body's fields.
 */
export function registryProblems(message: string, base?: string): BodyProblem[] {
  return message
    .split("\n")
    .slice(1)
    .map((line) => {
      const text = line.trim();
      const at = text.indexOf(": ");
      let path = at < 0 ? "" : text.slice(0, at);
      const reason = at < 0 ? text : text.slice(at + 2);
      if (base !== undefined) {
        if (path === base) path = "";
        else if (path.startsWith(`${base}.`)) path = path.slice(base.length + 1);
      }
      return { path, reason };
    });
}

/**
 * Runs a registry call, turning its coded errors into answers (422 with problems, 409, 404, 412,
 * 503); `base` names the record an item route writes (taken off the problems' paths).
 */
export async function callRegistry<T>(
  fn: () => Promise<T>,
  base?: string,
  log?: Logger,
): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (!isFlowtallyError(e)) throw e;
    const message = e.message;
    switch (e.code) {
      case "FT_REGISTRY_INVALID":
        throw new ApiError(
          422,
          "FT_REGISTRY_INVALID",
          message.split("\n", 1)[0]!,
          undefined,
          {},
          {
            problems: registryProblems(message, base),
          },
        );
      case "FT_REGISTRY_EXISTS":
        throw new ApiError(409, "FT_REGISTRY_EXISTS", message);
      case "FT_REGISTRY_NOT_FOUND":
        throw notFound(message);
      case "FT_REGISTRY_CONFLICT":
        throw new ApiError(412, "FT_REGISTRY_CONFLICT", message);
      case "FT_REGISTRY_OPEN":
        // The cause (the database's host, its error) goes to the log, not to the client.
        log?.error({ err: e }, "API: the customer registry is unavailable");
        throw new ApiError(
          503,
          "FT_REGISTRY_UNAVAILABLE",
          "the customer registry cannot be reached; see the server log",
        );
      default:
        throw e;
    }
  }
}

export interface Target {
  customer: string;
  site?: string;
  link?: string;
}

export interface RegistryEndpointOptions {
  log?: Logger;
  /** Largest body of `POST /api/v1/changes` (api.maxChangeSetBytes). */
  maxChangeSetBytes: number;
  now?: () => number;
  /**
   * Removes a customer's stored series (`DELETE /api/v1/customers/{id}/series`); absent in a
   * process that keeps no series.
   */
  purgeSeries?: (customer: string) => Promise<Record<string, number>>;
}

/** What the registry's routes (registry-item-routes.ts, registry-change-routes.ts) share. */
export interface RegistryRouteContext {
  readonly registry: RegistryAccess;
  readonly options: RegistryEndpointOptions;
  readonly now: () => number;
  /** A registry call, its coded errors as answers (`callRegistry`, logging to options.log). */
  registryCall<T>(fn: () => Promise<T>, base?: string): Promise<T>;
  /** The registry's current snapshot. */
  snapshot(): Promise<RegistrySnapshot>;
}

export const WRITE_NOTE =
  "Operators and admins may call it. Answers `Registry-Version: N`, the registry version the write created.";
