/**
 * Module hooks (node:module `register`) that let a worker thread started by a test import the
 * repository's TypeScript sources: Node 20 runs no TypeScript, and vitest's transform does not
 * reach worker threads. A `.js` import that names a `.ts` file beside it (the NodeNext
 * convention the sources use) resolves to the `.ts` file, which is transpiled one file at a time
 * (`transpileModule`: types are erased, nothing is type-checked; `npx tsc` does that).
 *
 * Transpiled files are cached by content hash under node_modules/.cache/, so only the first run
 * after a change loads the compiler (about 3 CPU-seconds for the pipeline's ~60 modules).
 * JavaScript, not TypeScript: it is what makes TypeScript loadable.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));
const cacheDir = join(root, "node_modules/.cache/flowtally-typescript-hooks");
const require = createRequire(import.meta.url);
/** @type {typeof import("typescript") | undefined} */
let ts;

export async function resolve(specifier, context, next) {
  const parent = context.parentURL;
  if (parent?.endsWith(".ts") && specifier.endsWith(".js") && /^\.{1,2}\//.test(specifier)) {
    const url = new URL(specifier, parent);
    if (!existsSync(fileURLToPath(url))) {
      const tsUrl = new URL(`${url.href.slice(0, -3)}.ts`);
      if (existsSync(fileURLToPath(tsUrl))) {
        return { url: tsUrl.href, format: "module", shortCircuit: true };
      }
    }
  }
  return next(specifier, context);
}

export async function load(url, context, next) {
  if (!url.startsWith("file:") || !url.endsWith(".ts")) return next(url, context);
  const path = fileURLToPath(url);
  const source = readFileSync(path, "utf8");
  const key = createHash("sha256").update(path).update("\0").update(source).digest("hex");
  const cached = join(cacheDir, `${key}.js`);
  if (existsSync(cached)) {
    return { format: "module", source: readFileSync(cached, "utf8"), shortCircuit: true };
  }
  ts ??= require("typescript");
  const out = ts.transpileModule(source, {
    fileName: path,
    compilerOptions: {
      module: ts.ModuleKind.ESNext,
      target: ts.ScriptTarget.ES2023,
      verbatimModuleSyntax: true,
      inlineSourceMap: true,
      inlineSources: true,
    },
  }).outputText;
  mkdirSync(dirname(cached), { recursive: true });
  // Written aside then renamed: a worker reading it at the same time sees all of it or nothing.
  const partial = `${cached}.${process.pid}.${Math.random().toString(36).slice(2)}`;
  writeFileSync(partial, out);
  renameSync(partial, cached);
  return { format: "module", source: out, shortCircuit: true };
}
