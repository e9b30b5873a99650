import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { writeFileDurably } from "./durable-file.js";

describe("writeFileDurably", () => {
  const dirs: string[] = [];
  const dir = () => {
    const d = mkdtempSync(join(tmpdir(), "ft-durable-"));
    dirs.push(d);
    return d;
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it("replaces the file whole, creates its directory, and leaves no temp file", () => {
    const d = dir();
    const path = join(d, "sub", "state.json");
    writeFileDurably(path, "first");
    writeFileDurably(path, "second, longer than the first");
    expect(readFileSync(path, "utf8")).toBe("second, longer than the first");
    expect(readdirSync(join(d, "sub"))).toEqual(["state.json"]);
  });

  it("a failed rename passes the error on, keeps what is there and removes its temp file", () => {
    const d = dir();
    // The path is a directory: the temp file is written beside it, then the rename fails.
    const path = join(d, "state.json");
    writeFileDurably(join(path, "inside"), "kept");
    expect(() => writeFileDurably(path, "new")).toThrow(/EISDIR|ENOTEMPTY|EEXIST/);
    expect(readFileSync(join(path, "inside"), "utf8")).toBe("kept");
    expect(readdirSync(d)).toEqual(["state.json"]);
  });
});
