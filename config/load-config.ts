/**
 * Loads, validates and freezes a config file. Errors name the path in the file and the reason,
 * e.g. `decoder.samplingOverrides[0].rate: must be >= 1 (got 0)`. Data paths come out absolute:
 * `dataDir` against the config file's directory, the files against `dataDir` (data-paths.ts).
 */
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parseDocument } from "yaml";
import type { z } from "zod";
import { type Config, configSchema } from "../schema/config.js";
import { FlowtallyError } from "../schema/errors.js";
import { resolveDataPaths } from "./data-paths.js";
import { formatPath } from "./path.js";
import { validateModel } from "./validate-model.js";
import { validateResources } from "./validate-resources.js";

export function loadConfigFile(path: string): Readonly<Config> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new FlowtallyError("FT_CONFIG_READ", `${path}: ${(e as Error).message}`, { cause: e });
  }
  return parseConfigText(text, path, dirname(resolve(path)));
}

/** `configDir`: what a relative `dataDir` is relative to; a config from no file has only the working directory. */
export function parseConfigText(
  text: string,
  source = "config",
  configDir = process.cwd(),
): Readonly<Config> {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const first = doc.errors[0]!;
    throw new FlowtallyError("FT_CONFIG_PARSE", `${source}: ${first.message}`, { cause: first });
  }
  return validateConfig(doc.toJS() ?? {}, source, configDir);
}

export function validateConfig(
  input: unknown,
  source = "config",
  configDir = process.cwd(),
): Readonly<Config> {
  const res = configSchema.safeParse(input);
  const lines = res.success
    ? [...validateModel(res.data), ...validateResources(res.data)]
    : res.error.issues.map(formatIssue);
  if (!res.success || lines.length > 0) {
    throw new FlowtallyError(
      "FT_CONFIG_INVALID",
      `${source}: invalid config\n  ${lines.join("\n  ")}`,
    );
  }
  return deepFreeze(resolveDataPaths(res.data, resolve(configDir)));
}

function formatIssue(issue: z.core.$ZodIssue): string {
  const path = formatPath(issue.path);
  let reason = issue.message;
  if (issue.code === "unrecognized_keys") {
    reason = `unknown key${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => `"${k}"`).join(", ")}`;
  }
  return `${path === "" ? "(top level)" : path}: ${reason}`;
}

function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === "object" && !Object.isFrozen(v)) {
    for (const k of Object.keys(v)) deepFreeze((v as Record<string, unknown>)[k]);
    Object.freeze(v);
  }
  return v;
}
