/**
 * A registry customer's `portalTemplate` names one of the config's `portal.templates` (never a
 * file: the record's schema takes only a name). Which names exist is the config's business, so
 * the check sits where the config is known: the API's registry (query/api/server.ts, with the
 * names read again at SIGHUP) and `flowtally customers import` (cli/customers-command.ts).
 * Pure: the change set in, the problems out, in the registry's `path: reason` form.
 */
import { FlowtallyError } from "../schema/errors.js";
import { recordPath } from "./model.js";

/** The problems of a change set's customer templates that are not among `names`. */
export function unknownTemplateProblems(changes: unknown, names: readonly string[]): string[] {
  if (!Array.isArray(changes)) return [];
  const known = new Set(names);
  const problems: string[] = [];
  for (const c of changes as unknown[]) {
    if (typeof c !== "object" || c === null) continue;
    const op = c as Record<string, unknown>;
    if (typeof op.customer !== "string" || op.site !== undefined) continue;
    const fields = op.op === "add" ? op.record : op.op === "update" ? op.set : undefined;
    if (typeof fields !== "object" || fields === null) continue;
    const name = (fields as Record<string, unknown>).portalTemplate;
    // Other types (and null: no template) are the record schema's to judge.
    if (typeof name !== "string" || known.has(name)) continue;
    problems.push(
      `${recordPath({ customer: op.customer })}.portalTemplate: ${JSON.stringify(name)} is not a template of portal.templates (${
        names.length === 0 ? "the config names none" : `known: ${names.join(", ")}`
      })`,
    );
  }
  return problems;
}

/** Throws FT_REGISTRY_INVALID (the registry's own error: the API answers 422) on an unknown name. */
export function checkTemplateNames(changes: unknown, names: readonly string[]): void {
  const problems = unknownTemplateProblems(changes, names);
  if (problems.length === 0) return;
  throw new FlowtallyError(
    "FT_REGISTRY_INVALID",
    `invalid registry change\n  ${problems.join("\n  ")}`,
  );
}

/** A registry whose changes are checked against the template names in force (`names()`) first. */
export function checkingTemplateNames<
  R extends { apply(changes: unknown, options: { actor: string }): Promise<unknown> },
>(registry: R, names: () => readonly string[]): R {
  return {
    ...registry,
    checkChanges: (changes: unknown) => checkTemplateNames(changes, names()),
    apply(changes: unknown, options: { actor: string }) {
      try {
        checkTemplateNames(changes, names());
      } catch (e) {
        return Promise.reject(e);
      }
      return registry.apply(changes, options);
    },
  } as R;
}
