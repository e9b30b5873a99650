import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { registryConformance } from "../test/support/registry-conformance.js";
import { createDuckDbRegistry } from "./duckdb-registry.js";

async function tempFile(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "flowtally-registry-"));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  return join(dir, "data", "registry.duckdb");
}

describe("embedded registry (DuckDB)", () => {
  registryConformance({
    async open(now) {
      const path = await tempFile();
      const store = createDuckDbRegistry({ path }, { now });
      await store.start();
      return {
        store,
        again: async () => {
          const s = createDuckDbRegistry({ path }, { now });
          await s.start();
          return s;
        },
      };
    },
  });

  it("answers FT_REGISTRY_OPEN when the file cannot be created", async () => {
    const path = await tempFile();
    await mkdir(join(path, ".."), { recursive: true });
    // A file where the registry's directory should be.
    const notADir = join(path, "..", "not-a-dir");
    await writeFile(notADir, "");
    const store = createDuckDbRegistry({ path: join(notADir, "registry.duckdb") });
    await expect(store.start()).rejects.toMatchObject({ code: "FT_REGISTRY_OPEN" });
  });
});
