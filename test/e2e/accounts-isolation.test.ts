/**
 * Tenant isolation end to end (issue 15): two look-alike customers (test/support/lookalike-
 * tenants.ts: the same site and link names, adjacent prefixes, unique markers in their names and
 * traffic) in a real `flowtally run` fed NetFlow v5, then served by `flowtally serve` to users
 * made by `flowtally users add`. Each customer's user reads its own traffic and never a marker of
 * the other, on every route it can ask, in bodies and headers; the operator sees both.
 */
import { spawnSync } from "node:child_process";
import { createSocket } from "node:dgram";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { cli, freeUdpPort, root, startFlowtally } from "../support/cli-process.js";
import {
  leakedMarkers,
  lookalikeConfigYaml,
  lookalikeTraffic,
  TENANT_A,
  TENANT_B,
  type Tenant,
} from "../support/lookalike-tenants.js";

const HOUR = 3_600_000;
const PASSWORD = "a long enough password";
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "flowtally-isolation-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

function usersAdd(config: string, args: string[]) {
  const r = spawnSync(
    process.execPath,
    [cli, "users", "add", ...args, "-c", config, "--password-stdin"],
    { cwd: root, encoding: "utf8", input: `${PASSWORD}\n` },
  );
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
}

async function send(port: number, datagrams: Uint8Array[]) {
  const socket = createSocket("udp4");
  for (const d of datagrams) {
    await new Promise<void>((resolve, reject) =>
      socket.send(d, port, "127.0.0.1", (e) => (e ? reject(e) : resolve())),
    );
  }
  socket.close();
}

it("a customer's user sees its own traffic and nothing of the look-alike other, on every route", async () => {
  const udp = await freeUdpPort();
  const config = join(dir, "ft.yaml");
  await writeFile(
    config,
    [
      `dataDir: ${JSON.stringify(join(dir, "data"))}`,
      `inputs: { netflow: [{ listen: "127.0.0.1:${udp}" }] }`,
      'api: { listen: "127.0.0.1:0" }',
      lookalikeConfigYaml(),
    ].join("\n"),
  );
  usersAdd(config, ["a-user", "--role", "customer", "--customer", TENANT_A.id]);
  usersAdd(config, ["a-boss", "--role", "customer-admin", "--customer", TENANT_A.id]);
  usersAdd(config, ["b-user", "--role", "customer", "--customer", TENANT_B.id]);
  usersAdd(config, ["ops", "--role", "operator"]);

  // The records end a minute before now (the clock's minute, not a date the test knows).
  const endMs = Math.floor(Date.now() / 60_000) * 60_000 - 60_000;
  const run = await startFlowtally("run", config);
  await send(udp, lookalikeTraffic(endMs));
  expect((await run.stop()).status).toBe(0);

  const serve = await startFlowtally("serve", config);
  const from = new Date(Math.floor(endMs / HOUR) * HOUR).toISOString();
  const to = new Date(Math.floor(endMs / HOUR) * HOUR + 2 * HOUR).toISOString();
  const range = `from=${from}&to=${to}`;

  async function session(user: string) {
    const r = await fetch(`${serve.apiUrl}/api/v1/session`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ user, password: PASSWORD }),
    });
    expect(r.status).toBe(200);
    const cookie = (r.headers.get("set-cookie") ?? "").split(";", 1)[0]!;
    return async (path: string) => {
      const a = await fetch(`${serve.apiUrl}${path}`, { headers: { cookie } });
      const headers = JSON.stringify([...a.headers]);
      return { status: a.status, text: `${headers}\n${await a.text()}` };
    };
  }

  /** Every GET a user can try, on its own customer and on the other. */
  const paths = (own: Tenant, other: Tenant) => [
    "/healthz",
    "/api/v1/me",
    "/api/v1/tokens",
    "/api/v1/users",
    "/api/v1/accounts/audit",
    `/api/v1/overview?${range}`,
    `/api/v1/overview?${range}&format=csv`,
    "/api/v1/status",
    "/api/v1/openapi.json",
    "/metrics",
    `/api/v1/customers/${own.id}/traffic?${range}&step=1h`,
    `/api/v1/customers/${own.id}/response-times?${range}&step=1h`,
    `/api/v1/customers/${other.id}/traffic?${range}&step=1h`,
    `/api/v1/customers/${other.id}/response-times?${range}&step=1h`,
    `/api/v1/customers/${other.id}/traffic?bad=1`,
  ];

  for (const [user, own, other] of [
    ["a-user", TENANT_A, TENANT_B],
    ["a-boss", TENANT_A, TENANT_B],
    ["b-user", TENANT_B, TENANT_A],
  ] as const) {
    const get = await session(user);
    const statuses: number[] = [];
    for (const path of paths(own, other)) {
      const r = await get(path);
      statuses.push(r.status);
      // The other's id is in the path it asked for, and echoed by the 404: only its markers count.
      expect(leakedMarkers(r.text, other), `${user} ${path}`).toEqual([]);
    }
    expect(statuses, user).toEqual([
      200, 200, 200, 403, 403, 403, 403, 403, 403, 403, 200, 200, 404, 404, 404,
    ]);
    const traffic = await get(`/api/v1/customers/${own.id}/traffic?${range}&step=1h`);
    expect(traffic.text).toContain(`"bytesIn":${own.bytesIn}`);
  }

  const ops = await session("ops");
  const overview = await ops(`/api/v1/overview?${range}`);
  expect(overview.status).toBe(200);
  for (const t of [TENANT_A, TENANT_B]) expect(overview.text).toContain(String(t.bytesIn));
  expect((await serve.stop()).status).toBe(0);
}, 120_000);
