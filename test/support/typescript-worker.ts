/**
 * Test support: a worker thread that runs a TypeScript module of this repository from its source
 * (through test/support/typescript-hooks.mjs), for tests that need a second thread, such as a
 * watchdog that must survive a synchronous infinite loop in the code under test.
 */
import { Worker, type WorkerOptions } from "node:worker_threads";

const hooks = new URL("./typescript-hooks.mjs", import.meta.url).href;

/** Starts a worker whose main module is the TypeScript file `entry`. */
export function typeScriptWorker(entry: URL, options: Omit<WorkerOptions, "eval"> = {}): Worker {
  const boot = [
    'import { register } from "node:module";',
    `register(${JSON.stringify(hooks)});`,
    `await import(${JSON.stringify(entry.href)});`,
  ].join("\n");
  // A data: URL is an ES module whatever Node guesses of eval'd code.
  return new Worker(new URL(`data:text/javascript,${encodeURIComponent(boot)}`), options);
}
