/**
 * The whole registry in and out over HTTP, in the formats of `flowtally customers export|import`
 * (docs/registry.md#import-and-export): `GET /api/v1/registry/export?format=yaml|csv` downloads the
 * tree, `POST /api/v1/registry/import` takes a file's text, answers the diff (`dryRun=true`) or
 * applies it as one atomic change set. The console's import and export buttons call these. The
 * work is registry/tree-file.ts, tree-csv.ts and the store's one `apply`.
 */
import type { Logger } from "pino";
import { z } from "zod";
import {
  type ChangeInput,
  describeDiff,
  diffTree,
  exportTree,
  parseTree,
} from "../../registry/index.js";
import { exportCsv, parseCsvTree } from "../../registry/tree-csv.js";
import { choice, readParameters } from "./parameters.js";
import {
  badBody,
  callRegistry,
  problemsOf,
  type RegistryAccess,
  readOnly,
} from "./registry-endpoints.js";
import { jsonReply, reply } from "./reply.js";
import type { ApiRoute } from "./routes.js";
import { ErrorBody } from "./schemas.js";

const FORMATS = ["yaml", "csv"] as const;

const ExportQuery = z.strictObject({
  format: z.enum(FORMATS).default("yaml").meta({ description: "yaml (default) or csv" }),
});
const ImportQuery = z.strictObject({
  dryRun: z
    .enum(["true", "false"])
    .default("false")
    .meta({ description: "true: answer the diff, write nothing" }),
});
const ImportBody = z
  .strictObject({
    format: z.enum(FORMATS).meta({ description: "The file's format: yaml or csv" }),
    text: z
      .string()
      .meta({ description: "The file's text, as `flowtally customers export` writes it" }),
  })
  .meta({ id: "RegistryImport" });
const ImportAnswer = z
  .strictObject({
    dryRun: z.boolean(),
    registryVersion: z.number().meta({
      description:
        "The version the import created (dry run, or nothing to change: the current one)",
    }),
    summary: z.strictObject({ add: z.number(), update: z.number(), delete: z.number() }),
    lines: z.array(z.string()).meta({
      description: "The diff as `flowtally customers import --dry-run` prints it",
    }),
    changes: z.array(z.record(z.string(), z.unknown())).meta({
      description:
        "The change set (docs/registry.md#change-sets), each update and delete with the revision read: POST it to /api/v1/changes to apply exactly what was shown",
    }),
  })
  .meta({ id: "RegistryImportResult" });

const error = (description: string) => ({
  description,
  content: { "application/json": ErrorBody },
});

export interface RegistryFileOptions {
  log?: Logger;
  /** Largest import body (api.maxChangeSetBytes). */
  maxBodyBytes: number;
}

export function registryFileRoutes(
  registry: RegistryAccess,
  options: RegistryFileOptions,
): ApiRoute[] {
  const call = <T>(fn: () => Promise<T>) => callRegistry(fn, undefined, options.log);
  return [
    {
      method: "GET",
      path: "/api/v1/registry/export",
      access: "operator",
      inProcess: false,
      summary:
        "Download the whole registry as YAML or CSV (the formats of `flowtally customers export`)",
      description:
        "Operators and admins may call it. An attachment `customers.yaml` or `customers.csv`, without revisions. With registry.source: config, the config's customers.",
      query: ExportQuery,
      responses: {
        200: {
          description: "The tree as a file",
          content: {
            "application/yaml; charset=utf-8": z.string(),
            "text/csv; charset=utf-8": z.string(),
          },
        },
      },
      handler: async ({ search }) => {
        const p = readParameters(search, Object.keys(ExportQuery.shape));
        const format = choice(p, "format", FORMATS, "yaml");
        const s = await call(() => registry.snapshot());
        const text = format === "csv" ? exportCsv(s) : exportTree(s);
        return reply(
          200,
          text,
          format === "csv" ? "text/csv; charset=utf-8" : "application/yaml; charset=utf-8",
          {
            "content-disposition": `attachment; filename="customers.${format}"`,
            "registry-version": String(s.version),
            "cache-control": "no-store",
          },
        );
      },
    },
    {
      method: "POST",
      path: "/api/v1/registry/import",
      access: "operator",
      inProcess: false,
      summary:
        "Import a YAML or CSV file: the registry becomes the file's tree, in one atomic change set",
      description:
        "Operators and admins may call it. Body `{format, text}`. The diff (deletes, updates of the changed fields with the revision read, adds) as `flowtally customers import` makes it; `dryRun=true` answers it and writes nothing. Without, it is applied as one change set (one version), or nothing is: an edit made meanwhile answers 412.",
      query: ImportQuery,
      body: ImportBody,
      bodyCheckedBy: "handler",
      maxBodyBytes: options.maxBodyBytes,
      responses: {
        200: {
          description: "The diff, applied or (dry run) not",
          content: { "application/json": ImportAnswer },
        },
        409: error("registry.source is config (FT_REGISTRY_READONLY)"),
        412: error("A record changed since the diff was made (FT_REGISTRY_CONFLICT)"),
        422: error("The file is not valid (FT_REGISTRY_INVALID); problems names each line's place"),
      },
      handler: async ({ search, body, actor }) => {
        const p = readParameters(search, Object.keys(ImportQuery.shape));
        const dryRun = choice(p, "dryRun", ["true", "false"] as const, "false") === "true";
        const parsed = ImportBody.safeParse(body);
        if (!parsed.success) {
          throw badBody("the import is not valid", problemsOf(parsed.error.issues));
        }
        if (registry.source === "config") readOnly();
        const { format, text } = parsed.data;
        const wanted = await call(async () =>
          format === "csv" ? parseCsvTree(text, "import") : parseTree(text, "import"),
        );
        const s = await call(() => registry.snapshot());
        const diff = diffTree(s, wanted);
        // What apply checks beyond the registry's rules (the template names), in a dry run too.
        await call(async () => registry.checkChanges?.(diff.changes));
        let version = s.version;
        if (!dryRun && diff.changes.length > 0) {
          version = (await call(() => registry.apply(diff.changes, { actor }))).version;
        }
        return jsonReply(
          200,
          {
            dryRun,
            registryVersion: version,
            summary: { add: diff.added, update: diff.updated, delete: diff.deleted },
            lines: describeDiff(diff),
            changes: diff.changes as ChangeInput[],
          },
          dryRun || diff.changes.length === 0 ? {} : { "registry-version": String(version) },
        );
      },
    },
  ];
}
