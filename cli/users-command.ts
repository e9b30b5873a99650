/**
 * `flowtally users add ID --role ROLE`: adds a user to the registry database, the way to make the
 * first admin (docs/accounts.md). The password is read from stdin: typed at a prompt (not echoed,
 * asked twice) on a terminal, else the first line of what is piped in (`--password-stdin`).
 */
import type { Readable } from "node:stream";
import type { Logger } from "pino";
import { accountsFor } from "../accounts/account-database.js";
import { isAccountError } from "../accounts/accounts.js";
import { newUserSchema, type Principal, type Role } from "../accounts/model.js";
import { passwordProblem } from "../accounts/password.js";
import type { Config } from "../schema/config.js";
import { FlowtallyError } from "../schema/errors.js";

export interface UsersAddOptions {
  role: Role;
  customer?: string;
  radius?: boolean;
  passwordStdin?: boolean;
}

const CLI: Principal = { user: "cli", role: "admin", via: "operator-token" };

/** The first line of a stream (without its line end). */
export async function firstLine(input: Readable): Promise<string> {
  let text = "";
  for await (const chunk of input) {
    text += String(chunk);
    const end = text.search(/\r?\n/);
    if (end >= 0) return text.slice(0, end);
    if (text.length > 8192) break;
  }
  return text;
}

/** Reads a line from a terminal without echoing it. */
function promptHidden(question: string): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(question);
  return new Promise((resolve, reject) => {
    let value = "";
    stdin.setRawMode(true);
    stdin.resume();
    stdin.setEncoding("utf8");
    const done = (e?: Error) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off("data", onData);
      process.stderr.write("\n");
      if (e === undefined) resolve(value);
      else reject(e);
    };
    const onData = (s: string) => {
      for (const c of s) {
        if (c === "\r" || c === "\n") return done();
        if (c === "\u0003") return done(new FlowtallyError("FT_ACCOUNT", "interrupted"));
        if (c === "\u007f" || c === "\b") value = [...value].slice(0, -1).join("");
        else value += c;
      }
    };
    stdin.on("data", onData);
  });
}

async function readPassword(fromStdin: boolean): Promise<string> {
  if (fromStdin || process.stdin.isTTY !== true) return firstLine(process.stdin);
  const first = await promptHidden("Password: ");
  const again = await promptHidden("Password again: ");
  if (first !== again) throw new FlowtallyError("FT_ACCOUNT", "the two passwords differ");
  return first;
}

export async function usersAdd(
  cfg: Readonly<Config>,
  log: Logger,
  id: string,
  opts: UsersAddOptions,
): Promise<string> {
  const input = {
    id,
    role: opts.role,
    ...(opts.customer === undefined ? {} : { customer: opts.customer }),
    auth: opts.radius === true ? "radius" : "local",
  };
  const checked = newUserSchema.safeParse(input);
  if (!checked.success) {
    const issue = checked.error.issues[0]!;
    const field = issue.path.join(".");
    throw new FlowtallyError(
      "FT_ACCOUNT",
      `${field === "id" ? "ID" : `--${field}`}: ${issue.message}`,
    );
  }
  if (
    opts.customer !== undefined &&
    cfg.customers.length > 0 &&
    !cfg.customers.some((c) => c.id === opts.customer)
  ) {
    throw new FlowtallyError(
      "FT_ACCOUNT",
      `--customer: no customer "${opts.customer}" in the config`,
    );
  }
  let password: string | undefined;
  if (opts.radius !== true) {
    password = await readPassword(opts.passwordStdin === true);
    const problem = passwordProblem(password);
    if (problem !== undefined) throw new FlowtallyError("FT_ACCOUNT", `the password ${problem}`);
  }
  const accounts = accountsFor(cfg, { log });
  await accounts.start();
  try {
    const user = await accounts.addUser(
      { ...checked.data, ...(password === undefined ? {} : { password }) },
      CLI,
      "cli",
    );
    return `added user ${user.id} (${user.role}${user.customer === undefined ? "" : ` of ${user.customer}`}, ${user.auth})`;
  } catch (e) {
    if (isAccountError(e)) throw new FlowtallyError("FT_ACCOUNT", e.message);
    throw e;
  } finally {
    await accounts.stop();
  }
}
