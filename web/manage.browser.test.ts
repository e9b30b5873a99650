/**
 * The console's customer management in a real browser (Debian's Chromium driven by playwright-core,
 * off the network) against `flowtally run` (startRun) with the embedded registry database and a
 * real NetFlow v5 stream on loopback. An operator logs in, adds a site and an access link (the
 * registry's own validation shown beside the prefixes field first: a prefix another link owns,
 * naming it, and host bits), makes a second change, undoes that one, reloads the tab (the unsaved
 * changes stay), saves the rest, and classification follows: traffic sent to the new link's prefix
 * after /api/v1/status reports the saved version is attributed to the new link, its bytes exactly
 * what was sent. A stale edit (another operator changes the record meanwhile) is reported as a
 * conflict naming the record, nothing is overwritten and the unsaved change stays. Screenshots at
 * 390 px and 1920 px go to $FLOWTALLY_ARTIFACTS (default: flowtally-web-artifacts in the temp dir).
 */
import { createSocket } from "node:dgram";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { type RunningFlowtally, startRun } from "../cli/run-command.js";
import { createDuckDbRegistry } from "../registry/duckdb-registry.js";
import { createDuckDbStore } from "../store/duckdb-store.js";
import { launchChromium, logIn, shots as screenshots } from "../test/support/browser.js";
import { v5Packet } from "../test/support/export-builder.js";
import { httpClient } from "../test/support/http-client.js";
import { oneBoxConfig } from "../test/support/run-config.js";
import { eventually } from "../test/support/scale-out.js";

const TOKEN = "manage-browser-token-0123456789";
const PASSWORD = "a long enough password";
const silent = pino({ level: "silent" });

/** The new link's prefix and the address the stream sends to; what is sent (records × bytes). */
const NEW_PREFIX = "198.51.100.0/28";
const NEW_ADDRESS = "198.51.100.9";
const RECORDS = 90;
const BYTES = 1237;

let dir: string;
let running: RunningFlowtally;
let stopped = false;
let base: string;
let port: number;
let browser: Browser;

/** A request with the operator token (bearer). */
function api(method: string, path: string, body?: unknown) {
  return httpClient({ port })(method, path, {
    headers: { authorization: `Bearer ${TOKEN}` },
    ...(body === undefined ? {} : { body }),
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "flowtally-manage-"));
  const registryPath = join(dir, "registry.duckdb");
  const seed = createDuckDbRegistry({ path: registryPath });
  await seed.start();
  await seed.apply(
    [
      { op: "add", customer: "acme", record: { name: "Acme Corp", serviceType: "business" } },
      { op: "add", customer: "acme", site: "hq", record: { name: "Head office" } },
      {
        op: "add",
        customer: "acme",
        site: "hq",
        link: "l1",
        record: { name: "Fiber", prefixes: ["192.0.2.0/28"], commitRate: "100M" },
      },
      { op: "add", customer: "beta", record: { name: "Beta", serviceType: "residential" } },
    ],
    { actor: "test" },
  );
  await seed.stop();
  const cfg = oneBoxConfig(dir, TOKEN, {
    registry: { source: "database", embedded: { path: registryPath } },
  });
  running = await startRun(cfg, silent, { tickMs: 100 });
  port = running.api.port;
  base = `http://127.0.0.1:${port}`;
  for (const id of ["ops", "ops2"]) {
    const r = await api("POST", "/api/v1/users", {
      id,
      role: "operator",
      password: PASSWORD,
      auth: "local",
    });
    expect(r.status).toBe(201);
  }
  browser = await launchChromium();
}, 90_000);

afterAll(async () => {
  await browser?.close();
  if (!stopped) await running?.stop();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

async function shots(page: Page, name: string) {
  await screenshots(page, name, { noSideways: true });
  await page.setViewportSize({ width: 1920, height: 1080 });
}

async function loggedIn(user: string, path: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1920, height: 1080 } });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on("console", (m) => {
    // The registry's refusals (a dry run's 422, a stale save's 412) are answers the page shows,
    // which Chromium also logs; anything else is a fault of the page.
    const expected = /Failed to load resource: .* (412|422) .*\/api\/v1\/changes/;
    const text = `${m.text()} ${m.location().url}`;
    if (m.type() === "error" && !expected.test(text)) errors.push(text);
  });
  page.on("pageerror", (e) => errors.push(String(e)));
  // Leaving with unsaved changes asks first: the test answers "leave".
  page.on("dialog", (d) => void d.accept());
  (page as Page & { errors?: string[] }).errors = errors;
  await page.goto(`${base}${path}`);
  expect(new URL(page.url()).pathname).toBe("/console/login");
  await logIn(page, user, PASSWORD, (u) => u.pathname === "/console/manage");
  return page;
}

const pendingCount = (page: Page) => page.locator("#pending-count").textContent();
const fieldError = (page: Page, kind: string, field: string) =>
  page.locator(`#err-${kind}-${field}`).textContent();

async function appliedVersion(): Promise<number> {
  const r = await api("GET", "/api/v1/status");
  return r.json?.registry?.appliedVersion ?? -1;
}

async function send(port: number, records: number, bytes: number, dst: string) {
  const socket = createSocket("udp4");
  try {
    const all = Array.from({ length: records }, (_, k) => ({
      src: `100.64.0.${1 + (k % 250)}`,
      dst,
      packets: 1,
      bytes,
      firstUptimeMs: 999_000,
      lastUptimeMs: 999_500,
      srcPort: 40_000 + k,
      dstPort: 443,
    }));
    for (let k = 0; k < all.length; k += 30) {
      const d = v5Packet(
        { sysUptimeMs: 1_000_000, unixSecs: Math.floor(Date.now() / 1000), sequence: k },
        all.slice(k, k + 30),
      );
      await new Promise<void>((resolve, reject) =>
        socket.send(d, port, "127.0.0.1", (e) => (e ? reject(e) : resolve())),
      );
    }
  } finally {
    socket.close();
  }
}

describe("customer management in Chromium", () => {
  it("a stale edit is reported as a conflict naming the record; nothing is overwritten", async () => {
    const page = await loggedIn("ops", "/console/manage");
    await page.locator('tr[data-path="customers/beta"] [data-action="edit"]').click();
    const form = page.locator('form.editor[data-kind="customer"]');
    await form.getByLabel("Name", { exact: true }).fill("Beta from the first operator");
    await form.getByRole("button", { name: "Keep as unsaved change" }).click();
    await expect.poll(() => pendingCount(page)).toBe("1");
    await expect
      .poll(() => page.locator('tr[data-path="customers/beta"]').getAttribute("class"))
      .toContain("pending-update");

    // Another operator, in another session, renames beta meanwhile.
    const other = await loggedIn("ops2", "/console/manage");
    await other.locator('tr[data-path="customers/beta"] [data-action="edit"]').click();
    const otherForm = other.locator('form.editor[data-kind="customer"]');
    await otherForm.getByLabel("Name", { exact: true }).fill("Beta from the second operator");
    await otherForm.getByRole("button", { name: "Keep as unsaved change" }).click();
    await other.getByRole("button", { name: "Save", exact: true }).click();
    await expect
      .poll(() => other.locator("#manage-status").textContent())
      .toContain("Saved 1 change");

    await page.getByRole("button", { name: "Save", exact: true }).click();
    const conflict = page.locator("#pending-conflict");
    await expect.poll(() => conflict.isVisible()).toBe(true);
    expect(await conflict.textContent()).toContain(
      "customers/beta was changed by someone else since you read it",
    );
    expect(await conflict.textContent()).toContain("Nothing was saved; your changes are kept.");
    expect(await pendingCount(page)).toBe("1");
    await shots(page, "manage-conflict");
    expect((await api("GET", "/api/v1/customers/beta")).json.name).toBe(
      "Beta from the second operator",
    );
    // Reload the record: its current revision is read, the unsaved change stays on top.
    await page.getByRole("button", { name: "Reload customers/beta" }).click();
    await expect
      .poll(() => page.locator("#manage-status").textContent())
      .toContain("Reloaded customers/beta");
    expect(await pendingCount(page)).toBe("1");
    await page.getByRole("button", { name: "Undo all" }).click();
    await expect.poll(() => page.locator("#pending").isHidden()).toBe(true);
    await expect
      .poll(() =>
        page.locator('tr[data-path="customers/beta"] td[data-field="name"]').textContent(),
      )
      .toBe("Beta from the second operator");
    expect((page as Page & { errors?: string[] }).errors).toEqual([]);
    await page.context().close();
    await other.context().close();
  }, 60_000);

  it("imports a file: the registry's diff shown first, then applied as one change", async () => {
    const page = await loggedIn("ops", "/console/manage");
    const exported = await fetch(`${base}/api/v1/registry/export?format=yaml`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    const tree = parse(await exported.text()) as { customers: object[] };
    tree.customers.push({ id: "gamma", name: "Gamma Imported", sites: [] });
    await page.locator("#import-file").setInputFiles({
      name: "customers.yaml",
      mimeType: "application/yaml",
      buffer: Buffer.from(stringify(tree)),
    });
    await page.getByRole("button", { name: "Show the changes" }).click();
    await expect
      .poll(() => page.locator("#import-diff").textContent())
      .toBe("+ customers/gamma\n1 to add, 0 to change, 0 to delete");
    // Shown, not written.
    expect((await api("GET", "/api/v1/customers/gamma")).status).toBe(404);
    await shots(page, "manage-import");
    const before = (await api("GET", "/api/v1/registry/tree")).json.version as number;
    await page.getByRole("button", { name: "Apply the import" }).click();
    await expect
      .poll(() => page.locator("#manage-status").textContent())
      .toBe(`Imported: registry version ${before + 1}.`);
    expect((await api("GET", "/api/v1/customers/gamma")).json.name).toBe("Gamma Imported");
    await expect.poll(() => page.locator('tr[data-path="customers/gamma"]').count()).toBe(1);
    expect((page as Page & { errors?: string[] }).errors).toEqual([]);
    await page.context().close();
  }, 60_000);

  it("adds a site and a link (validated beside the field), undoes another change, saves; classification follows", async () => {
    const page = await loggedIn("ops", "/console/manage");
    await shots(page, "manage-customers");
    await page.getByRole("link", { name: "acme", exact: true }).click();
    await page.waitForURL(/customer=acme/);
    await expect.poll(() => page.locator("#pane-sites tbody tr").count()).toBe(1);

    // A site, kept as an unsaved change.
    await page.getByRole("button", { name: "Add site" }).click();
    const siteForm = page.locator('form.editor[data-kind="site"]');
    await siteForm.getByLabel("Id").fill("branch");
    await siteForm.getByLabel("Name").fill("Branch office");
    await siteForm.getByRole("button", { name: "Keep as unsaved change" }).click();
    await expect.poll(() => pendingCount(page)).toBe("1");
    await expect
      .poll(() => page.locator('tr[data-path="customers/acme/sites/branch"]').textContent())
      .toContain("new");

    // Its link: the unsaved site is chosen like any other.
    await page.getByRole("link", { name: "branch" }).click();
    await page.waitForURL(/site=branch/);
    await page.getByRole("button", { name: "Add access link" }).click();
    const linkForm = page.locator('form.editor[data-kind="link"]');
    await linkForm.getByLabel("Id").fill("fiber2");
    // A prefix another link owns: the registry names that link, beside the field.
    await linkForm.getByLabel("Prefixes").fill("192.0.2.0/28");
    await linkForm.getByRole("button", { name: "Keep as unsaved change" }).click();
    await expect
      .poll(() => fieldError(page, "link", "prefixes"))
      .toBe('"192.0.2.0/28" is also given to customers/acme/sites/hq/links/l1.prefixes[0]');
    expect(await linkForm.getByLabel("Prefixes").getAttribute("aria-invalid")).toBe("true");
    // Host bits.
    await linkForm.getByLabel("Prefixes").fill("198.51.100.1/28");
    await linkForm.getByRole("button", { name: "Keep as unsaved change" }).click();
    await expect
      .poll(() => fieldError(page, "link", "prefixes"))
      .toBe(
        '"198.51.100.1/28" is not a prefix: "198.51.100.1/28" has host bits set (did you mean 198.51.100.0/28?)',
      );
    await shots(page, "manage-validation");
    expect(await pendingCount(page)).toBe("1");
    await linkForm.getByLabel("Prefixes").fill(NEW_PREFIX);
    await linkForm.getByLabel("Commit rate").fill("50M");
    await linkForm.getByRole("button", { name: "Keep as unsaved change" }).click();
    await expect.poll(() => pendingCount(page)).toBe("2");
    expect(await fieldError(page, "link", "prefixes")).toBe("");

    // A second change (beta's service type), then undone alone.
    await page.getByRole("link", { name: "beta", exact: true }).click();
    await page.waitForURL(/customer=beta/);
    await page.locator('tr[data-path="customers/beta"] [data-action="edit"]').click();
    const customerForm = page.locator('form.editor[data-kind="customer"]');
    await customerForm.getByLabel("Service type").fill("business");
    await customerForm.getByRole("button", { name: "Keep as unsaved change" }).click();
    await expect.poll(() => pendingCount(page)).toBe("3");
    await shots(page, "manage-pending");

    // A reload of the tab keeps the unsaved changes.
    await page.reload();
    await expect.poll(() => pendingCount(page)).toBe("3");
    expect(await page.locator("#manage-status").textContent()).toContain(
      "3 unsaved changes kept from before the reload",
    );
    await page.getByRole("button", { name: "Undo: Change customers/beta" }).click();
    await expect.poll(() => pendingCount(page)).toBe("2");
    expect(await page.locator("#pending-list").textContent()).not.toContain("customers/beta");

    const versionBefore = (await api("GET", "/api/v1/registry/tree")).json.version as number;
    await page.getByRole("button", { name: "Save", exact: true }).click();
    await expect
      .poll(() => page.locator("#manage-status").textContent())
      .toBe(`Saved 2 changes: registry version ${versionBefore + 1}.`);
    expect(await page.locator("#pending").isHidden()).toBe(true);
    await shots(page, "manage-saved");

    // Saved together as one version; the undone change never reached the registry.
    const link = await api("GET", "/api/v1/customers/acme/sites/branch/links/fiber2");
    expect(link.status).toBe(200);
    expect(link.json).toMatchObject({
      prefixes: [NEW_PREFIX],
      commitRate: 50_000_000,
      revision: versionBefore + 1,
    });
    expect((await api("GET", "/api/v1/customers/acme/sites/branch")).json.name).toBe(
      "Branch office",
    );
    expect((await api("GET", "/api/v1/customers/beta")).json.serviceType).toBe("residential");
    expect((page as Page & { errors?: string[] }).errors).toEqual([]);
    await page.context().close();

    // Classification follows: once the version is applied, the prefix's traffic is the new link's.
    await eventually(
      "the saved version applied",
      async () => (await appliedVersion()) >= versionBefore + 1,
    );
    const port = running.inputs[0]!.address.port;
    const before = running.stats().records;
    await send(port, RECORDS, BYTES, NEW_ADDRESS);
    await eventually("the records received", () => running.stats().records === before + RECORDS);
    await running.stop();
    stopped = true;
    const store = createDuckDbStore({ path: join(dir, "series.duckdb") });
    await store.start();
    try {
      const points = await store.traffic({
        customer: "acme",
        site: "branch",
        link: "fiber2",
        fromMs: 0,
        toMs: Date.UTC(2100, 0, 1),
        level: "1m",
      });
      expect(points.reduce((n, p) => n + p.bytesIn, 0)).toBe(RECORDS * BYTES);
    } finally {
      await store.stop();
    }
  }, 120_000);
});
