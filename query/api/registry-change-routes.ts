import { z } from "zod";
import { applyChangeSet, changeSetSchema } from "../../registry/index.js";
import { badParameter, shown, unknownCustomer } from "./errors.js";
import { choice, readParameters } from "./parameters.js";
import { readOnly } from "./registry-access.js";
import { DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT } from "./registry-list.js";
import {
  badBody,
  bodyObject,
  error,
  json,
  problemsOf,
  type RegistryRouteContext,
  WRITE_NOTE,
} from "./registry-request.js";
import {
  AuditAnswer,
  AuditQuery,
  ChangesAnswer,
  ChangesBody,
  ChangesQuery,
  CustomerItemPath,
  NoQuery,
  RegistryTree,
  SeriesPurge,
} from "./registry-schemas.js";
import { jsonReply } from "./reply.js";
import type { ApiRoute } from "./routes.js";

/** The change set (with its dry run), the whole tree, the audit log and the series purge. */
export function changeRoutes(ctx: RegistryRouteContext): ApiRoute[] {
  const { registry, options, now, registryCall, snapshot } = ctx;
  const routes: ApiRoute[] = [];
  const changesBody = z.strictObject({ changes: changeSetSchema });
  routes.push(
    {
      method: "POST",
      path: "/api/v1/changes",
      access: "operator",
      inProcess: false,
      summary:
        "Apply a change set: many operations validated together, in one transaction, or none",
      description: `${WRITE_NOTE} \`?dryRun=true\` validates and answers what would change (before and after of each record) without writing. Body: \`{"changes": [...]}\`, at most api.maxChangeSetBytes.`,
      query: ChangesQuery,
      body: ChangesBody,
      bodyCheckedBy: "handler",
      maxBodyBytes: options.maxChangeSetBytes,
      responses: {
        200: { description: "Applied (or, dry run, what would be)", content: json(ChangesAnswer) },
        404: error("An operation names a record that does not exist (FT_NOT_FOUND)"),
        409: error(
          "An add's id is taken (FT_REGISTRY_EXISTS), or registry.source is config (FT_REGISTRY_READONLY)",
        ),
        412: error("An operation's ifRevision is stale (FT_REGISTRY_CONFLICT)"),
        422: error(
          "The registry's rules refuse the set (FT_REGISTRY_INVALID); problems names each",
        ),
      },
      handler: async ({ search, body, actor }) => {
        const p = readParameters(search, Object.keys(ChangesQuery.shape));
        const dryRun = choice(p, "dryRun", ["true", "false"] as const, "false") === "true";
        const given = bodyObject(body);
        const parsed = changesBody.safeParse(given);
        if (!parsed.success) {
          throw badBody("the change set is not valid", problemsOf(parsed.error.issues));
        }
        if (registry.source === "config") readOnly();
        const s = await snapshot();
        // The dry run, and the answer's before/after of a real apply (the store checks again
        // against the tree it holds under its write lock).
        const preview = await registryCall(async () => {
          registry.checkChanges?.(parsed.data.changes);
          return applyChangeSet(s, parsed.data.changes, { actor, atMs: now() });
        });
        let version = s.version;
        if (!dryRun) {
          version = (await registryCall(() => registry.apply(parsed.data.changes, { actor })))
            .version;
        }
        const summary = { add: 0, update: 0, delete: 0 };
        for (const a of preview.audit) summary[a.op] += 1;
        return jsonReply(
          200,
          {
            dryRun,
            registryVersion: version,
            summary,
            changes: preview.audit.map((a) => ({
              op: a.op,
              path: a.path,
              before: a.before,
              after: a.after,
            })),
          },
          dryRun ? {} : { "registry-version": String(version) },
        );
      },
    },
    {
      method: "GET",
      path: "/api/v1/registry/tree",
      access: "operator",
      inProcess: false,
      summary: "The whole registry: every customer with its sites and links, and their revisions",
      description:
        "Operators and admins may call it. What `flowtally customers export --api` writes and `flowtally customers import --api` compares a file with (its changes carry these revisions, so an edit made meanwhile refuses the import instead of being overwritten). With registry.source: config, the config's customers at version 0.",
      query: NoQuery,
      responses: { 200: { description: "The tree", content: json(RegistryTree) } },
      handler: async ({ search }) => {
        readParameters(search, []);
        return jsonReply(200, await snapshot());
      },
    },
    {
      method: "GET",
      path: "/api/v1/registry/audit",
      access: "operator",
      inProcess: false,
      summary: "The registry's audit log: who changed what, when, before and after",
      description:
        "Operators and admins may call it. Oldest first; `since` a registry version, `next` the cursor of the next page.",
      query: AuditQuery,
      responses: { 200: { description: "Audit entries", content: json(AuditAnswer) } },
      handler: async ({ search }) => {
        const p = readParameters(search, Object.keys(AuditQuery.shape));
        const limitText = p.get("limit");
        const limit = limitText === undefined ? DEFAULT_LIST_LIMIT : Number(limitText);
        if (!/^[0-9]{1,7}$/.test(limitText ?? "1") || !(limit >= 1 && limit <= MAX_LIST_LIMIT)) {
          throw badParameter(
            "limit",
            `limit ${shown(limitText ?? "")}: expected a whole number from 1 to ${MAX_LIST_LIMIT}`,
          );
        }
        const sinceText = p.get("since");
        const cursorText = p.get("cursor");
        if (sinceText !== undefined && cursorText !== undefined) {
          throw badParameter("cursor", "give since or cursor, not both");
        }
        let since = 0;
        let skip = 0;
        if (sinceText !== undefined) {
          if (!/^[0-9]{1,15}$/.test(sinceText)) {
            throw badParameter("since", `since ${shown(sinceText)} is not a registry version`);
          }
          since = Number(sinceText);
        }
        if (cursorText !== undefined) {
          const m = /^([0-9]{1,15})\.([0-9]{1,9})$/.exec(cursorText);
          if (m === null || Number(m[1]) < 1) {
            throw badParameter(
              "cursor",
              `cursor ${shown(cursorText)} is not a cursor this API gave`,
            );
          }
          // The entries of the cursor's version up to its index were on earlier pages.
          since = Number(m[1]) - 1;
          skip = Number(m[2]) + 1;
        }
        const got = await registryCall(() => registry.audit({ since, limit: skip + limit + 1 }));
        const entries = got.slice(skip, skip + limit);
        const last = entries.at(-1);
        return jsonReply(200, {
          entries,
          next:
            got.length > skip + limit && last !== undefined
              ? `${last.version}.${last.index}`
              : null,
        });
      },
    },
  );
  const purge = options.purgeSeries;
  if (purge !== undefined) {
    routes.push({
      method: "DELETE",
      path: "/api/v1/customers/{id}/series",
      access: "operator",
      inProcess: false,
      summary: "Purge a customer's stored series (traffic and response times, every level)",
      description:
        "Operators and admins may call it. Removes what the series store holds for this customer id, whether or not the registry still has it (a customer still in the registry goes on collecting); answers the rows removed per level.",
      params: CustomerItemPath,
      query: NoQuery,
      responses: {
        200: {
          description: "What was removed",
          content: json(SeriesPurge),
        },
      },
      handler: async ({ params, search }) => {
        readParameters(search, []);
        const id = params.id ?? "";
        if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(id)) throw unknownCustomer(id);
        return jsonReply(200, { customer: id, removed: await purge(id) });
      },
    });
  }
  return routes;
}
