/**
 * The first admin: `flowtally users add` (the built CLI) writes a user into the registry database
 * of the config, and the `serve` and `run` processes started on that config let it log in.
 */
import { spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, root, startFlowtally } from "../test/support/cli-process.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "flowtally-users-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

function usersAdd(config: string, args: string[], stdin: string) {
  const r = spawnSync(
    process.execPath,
    [cli, "users", "add", ...args, "-c", config, "--password-stdin"],
    { cwd: root, encoding: "utf8", input: stdin },
  );
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function configFile(name: string): Promise<string> {
  const file = join(dir, `${name}.yaml`);
  await writeFile(
    file,
    [
      `dataDir: ${JSON.stringify(join(dir, name))}`,
      'api: { listen: "127.0.0.1:0" }',
      "wal: { enabled: false }",
      "customers:",
      "  - { id: acme, name: Acme, sites: [{ id: hq, links: [{ id: l, prefixes: [198.51.100.0/28] }] }] }",
    ].join("\n"),
  );
  return file;
}

async function loginAt(apiUrl: string, user: string, password: string) {
  const r = await fetch(`${apiUrl}/api/v1/session`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ user, password }),
  });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

describe("flowtally users add", () => {
  it("adds the first admin, who logs in to serve; refuses a short password and a taken id", async () => {
    const config = await configFile("serve");
    const added = usersAdd(config, ["root", "--role", "admin"], "correct horse battery\n");
    expect(added.stderr).toBe("");
    expect(added.stdout).toBe("added user root (admin, local)\n");
    expect(added.status).toBe(0);
    const short = usersAdd(config, ["other", "--role", "admin"], "short\n");
    expect(short.status).toBe(1);
    expect(short.stderr).toBe(
      "flowtally: the password must be at least 12 characters [FT_ACCOUNT]\n",
    );
    const taken = usersAdd(config, ["root", "--role", "operator"], "another long password\n");
    expect(taken.stderr).toBe('flowtally: user "root" exists [FT_ACCOUNT]\n');
    const noCustomer = usersAdd(config, ["c", "--role", "customer"], "another long password\n");
    expect(noCustomer.stderr).toBe(
      "flowtally: --customer: is required for role customer [FT_ACCOUNT]\n",
    );
    const unknownCustomer = usersAdd(
      config,
      ["c", "--role", "customer", "--customer", "zeta"],
      "another long password\n",
    );
    expect(unknownCustomer.stderr).toBe(
      'flowtally: --customer: no customer "zeta" in the config [FT_ACCOUNT]\n',
    );
    expect(
      usersAdd(config, ["c", "--role", "customer", "--customer", "acme"], "another long password\n")
        .status,
    ).toBe(0);

    const serve = await startFlowtally("serve", config);
    const ok = await loginAt(serve.apiUrl, "root", "correct horse battery");
    expect(ok.status).toBe(200);
    expect(ok.body.user).toEqual({ id: "root", role: "admin" });
    expect((await loginAt(serve.apiUrl, "c", "another long password")).body.user).toEqual({
      id: "c",
      role: "customer",
      customer: "acme",
    });
    expect((await loginAt(serve.apiUrl, "root", "wrong password!!")).status).toBe(401);
    const stopped = await serve.stop();
    expect(stopped.status).toBe(0);
    expect(stopped.stderr).not.toContain("correct horse battery");
  }, 60_000);

  it("adds a user that run lets log in", async () => {
    const config = await configFile("run");
    expect(usersAdd(config, ["ops", "--role", "operator"], "operator password\n").status).toBe(0);
    const run = await startFlowtally("run", config);
    const ok = await loginAt(run.apiUrl, "ops", "operator password");
    expect(ok.status).toBe(200);
    expect(ok.body.user).toEqual({ id: "ops", role: "operator" });
    expect((await run.stop()).status).toBe(0);
  }, 60_000);
});
