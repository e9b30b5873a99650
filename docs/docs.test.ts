/** The docs list every decode problem and every error code, so they cannot drift from the code. */
import { readFileSync } from "node:fs";
import { expect, it } from "vitest";
import { decodeProblems } from "../collector/decoders/decode-problems.js";
import { apiErrorCodes } from "../query/api/index.js";
import { errorCodes } from "../schema/errors.js";

const doc = (name: string) => readFileSync(new URL(name, import.meta.url), "utf8");

it("docs/decoding.md documents every decode problem", () => {
  const text = doc("decoding.md");
  for (const p of decodeProblems) expect(text, p).toContain(`| \`${p}\` |`);
});

it("docs/errors.md documents every error code", () => {
  const text = doc("errors.md");
  for (const c of Object.keys(errorCodes)) expect(text, c).toContain(`| \`${c}\` |`);
});

it("docs/api.md documents every API error code", () => {
  const text = doc("api.md");
  for (const c of Object.keys(apiErrorCodes)) expect(text, c).toContain(`| \`${c}\` |`);
});
