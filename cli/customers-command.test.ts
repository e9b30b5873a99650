/**
 * `flowtally customers import|export` as a user runs it (the built CLI, dist/): YAML and CSV
 * round trips, a provisioning system's CSV dump, dry runs and refused files that write nothing,
 * the embedded registry held by another process, registry.source: config, and PostgreSQL.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { createDuckDbRegistry } from "../registry/duckdb-registry.js";
import { createPostgresRegistry } from "../registry/postgres-registry.js";
import { runCli, runCliAsync, startRun } from "../test/support/cli-process.js";
import { type PostgresServer, startPostgres } from "../test/support/servers.js";

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "flowtally-customers-"));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A config keeping customers in the embedded registry under `dir`. */
function databaseConfig(dir: string, extra = ""): string {
  const path = join(dir, "ft.yaml");
  writeFileSync(path, `dataDir: ${JSON.stringify(dir)}\nregistry: { source: database }\n${extra}`);
  return path;
}

/**
 * A provisioning system's dump: columns in its own order, quoted fields with commas, quotes and
 * a line break, UTF-8 names, a phone number and a formula-looking description, a customer
 * without sites and a site without links, CRLF line ends.
 */
const DUMP = [
  "customer,site,link,name,serviceType,contact,email,phone,address,description,motd,siteName,siteAddress,siteDescription,linkName,linkDescription,prefixes,router,ifIndex,commitRate",
  'acme,hq,l1,"ACME, Inc.",business,Zoë Müller,noc@acme.example,+41 44 555 01 00,"Bahnhofstrasse 1, Zürich","The ""big"" one",Wartung: Sonntag,Hauptsitz,"Bahnhofstrasse 1\nZürich",,Glasfaser 1,=HYPERLINK(x),192.0.2.0/28 2001:db8:1::/48,,,100M',
  'acme,hq,l2,"ACME, Inc.",business,Zoë Müller,noc@acme.example,+41 44 555 01 00,"Bahnhofstrasse 1, Zürich","The ""big"" one",Wartung: Sonntag,Hauptsitz,"Bahnhofstrasse 1\nZürich",,Backup,,,198.51.100.1,7,2000000',
  'acme,lab,,"ACME, Inc.",business,Zoë Müller,noc@acme.example,+41 44 555 01 00,"Bahnhofstrasse 1, Zürich","The ""big"" one",Wartung: Sonntag,Labor,,,,,,,,',
  "beta,,,Beta 株式会社,default,,,,,,,,,,,,,,,",
].join("\r\n");

describe("flowtally customers (embedded registry)", () => {
  it("imports a provisioning dump as CSV: every field as the file gives it, one version", async () => {
    const dir = tempDir();
    const cfg = databaseConfig(dir);
    const file = join(dir, "dump.csv");
    writeFileSync(file, DUMP);
    const r = runCli(["customers", "import", file, "-c", cfg]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    // 2 customers, 2 sites, 2 links.
    expect(r.stdout).toBe(
      `6 to add, 0 to change, 0 to delete\nimported ${file}: registry version 1\n`,
    );
    const store = createDuckDbRegistry({ path: join(dir, "registry.duckdb") });
    await store.start();
    const snap = await store.snapshot();
    await store.stop();
    expect(snap.version).toBe(1);
    expect(snap.customers.toArray()).toEqual([
      {
        id: "acme",
        name: "ACME, Inc.",
        serviceType: "business",
        contact: "Zoë Müller",
        email: "noc@acme.example",
        phone: "+41 44 555 01 00",
        address: "Bahnhofstrasse 1, Zürich",
        description: 'The "big" one',
        motd: "Wartung: Sonntag",
        revision: 1,
        sites: [
          {
            id: "hq",
            name: "Hauptsitz",
            address: "Bahnhofstrasse 1\nZürich",
            revision: 1,
            links: [
              {
                id: "l1",
                name: "Glasfaser 1",
                description: "=HYPERLINK(x)",
                prefixes: ["192.0.2.0/28", "2001:db8:1::/48"],
                commitRate: 100_000_000,
                revision: 1,
              },
              {
                id: "l2",
                name: "Backup",
                prefixes: [],
                router: "198.51.100.1",
                ifIndex: 7,
                commitRate: 2_000_000,
                revision: 1,
              },
            ],
          },
          { id: "lab", name: "Labor", revision: 1, links: [] },
        ],
      },
      { id: "beta", name: "Beta 株式会社", serviceType: "default", revision: 1, sites: [] },
    ]);
  });

  it("round-trips CSV and YAML: export, import of the export changes nothing; formulas defused in the CSV", () => {
    const dir = tempDir();
    const cfg = databaseConfig(dir);
    const dump = join(dir, "dump.csv");
    writeFileSync(dump, DUMP);
    expect(runCli(["customers", "import", dump, "-c", cfg]).status).toBe(0);
    for (const name of ["out.csv", "out.yaml"]) {
      const out = join(dir, name);
      const e = runCli(["customers", "export", out, "-c", cfg]);
      expect(e.stderr).toBe("");
      expect(e.stdout).toBe(`exported 2 customers (registry version 1) to ${out}\n`);
      const again = runCli(["customers", "import", out, "-c", cfg, "--dry-run"]);
      expect(again.stdout).toBe(
        "0 to add, 0 to change, 0 to delete\ndry run: nothing written (registry version 1)\n",
      );
    }
    const csv = readFileSync(join(dir, "out.csv"), "utf8");
    const lines = csv.split("\r\n");
    expect(lines[0]).toBe(
      "customer,name,serviceType,contact,email,phone,address,description,motd,portalTemplate,site,siteName,siteAddress,siteDescription,link,linkName,linkDescription,prefixes,router,ifIndex,commitRate",
    );
    // The phone number and the description would start formulas in a spreadsheet; the site's
    // address keeps its line break inside the quotes (records end with CRLF).
    expect(lines[1]).toBe(
      `acme,"ACME, Inc.",business,Zoë Müller,noc@acme.example,'+41 44 555 01 00,"Bahnhofstrasse 1, Zürich","The ""big"" one",Wartung: Sonntag,,hq,Hauptsitz,"Bahnhofstrasse 1\nZürich",,l1,Glasfaser 1,'=HYPERLINK(x),192.0.2.0/28 2001:db8:1::/48,,,100000000`,
    );
    expect(lines.at(-2)).toBe("beta,Beta 株式会社,default,,,,,,,,,,,,,,,,,,");
  });

  it("dry run prints the diff and writes nothing; the import then applies it as one version", async () => {
    const dir = tempDir();
    const cfg = databaseConfig(dir);
    const dump = join(dir, "dump.csv");
    writeFileSync(dump, DUMP);
    runCli(["customers", "import", dump, "-c", cfg]);
    const edited = join(dir, "edited.yaml");
    writeFileSync(
      edited,
      [
        "customers:",
        "  - id: acme",
        "    name: ACME",
        "    sites:",
        "      - id: hq",
        "        links:",
        "          - { id: l1, prefixes: [192.0.2.0/28] }",
        "  - id: gamma",
        "    name: Gamma",
        "",
      ].join("\n"),
    );
    const dry = runCli(["customers", "import", edited, "-c", cfg, "-n"]);
    expect(dry.status).toBe(0);
    expect(dry.stdout.split("\n")).toEqual([
      "- customers/beta",
      "- customers/acme/sites/lab",
      "- customers/acme/sites/hq/links/l2",
      "~ customers/acme: name, serviceType, motd, contact, email, phone, address, description",
      "~ customers/acme/sites/hq: name, address",
      // The fields set first, then those removed, in the record's field order.
      "~ customers/acme/sites/hq/links/l1: prefixes, name, commitRate, description",
      "+ customers/gamma",
      "1 to add, 3 to change, 3 to delete",
      "dry run: nothing written (registry version 1)",
      "",
    ]);
    const store = createDuckDbRegistry({ path: join(dir, "registry.duckdb") });
    await store.start();
    expect(await store.version()).toBe(1);
    await store.stop();
    const r = runCli(["customers", "import", edited, "-c", cfg]);
    expect(r.stdout).toBe(
      `1 to add, 3 to change, 3 to delete\nimported ${edited}: registry version 2\n`,
    );
    await store.start();
    const snap = await store.snapshot();
    await store.stop();
    expect(snap.customers.toArray().map((c) => c.id)).toEqual(["acme", "gamma"]);
    expect(snap.customers.at(0)).toEqual({
      id: "acme",
      name: "ACME",
      serviceType: "default",
      revision: 2,
      sites: [
        { id: "hq", revision: 2, links: [{ id: "l1", prefixes: ["192.0.2.0/28"], revision: 2 }] },
      ],
    });
  });

  it("imports a customer's portal template by a name of portal.templates; an unknown name or a path is refused, nothing written", async () => {
    const dir = tempDir();
    // The config names the templates; the import does not read their files (the server does).
    const cfg = databaseConfig(
      dir,
      "portal: { templates: { gold: gold.html, plain: plain.html } }\n",
    );
    const tree = (template: string) =>
      ["customers:", "  - id: acme", "    name: ACME", `    portalTemplate: ${template}`, ""].join(
        "\n",
      );
    const file = join(dir, "t.yaml");
    writeFileSync(file, tree("bronze"));
    const unknown = runCli(["customers", "import", file, "-c", cfg]);
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toBe(
      'flowtally: invalid registry change\n  customers/acme.portalTemplate: "bronze" is not a template of portal.templates (known: gold, plain) [FT_REGISTRY_INVALID]\n',
    );
    writeFileSync(file, tree("../../etc/passwd"));
    const path = runCli(["customers", "import", file, "-c", cfg]);
    expect(path.status).toBe(1);
    expect(path.stderr).toContain("portalTemplate: must be a template name of portal.templates");
    writeFileSync(file, tree("gold"));
    expect(runCli(["customers", "import", file, "-c", cfg]).status).toBe(0);
    const out = join(dir, "out.csv");
    expect(runCli(["customers", "export", out, "-c", cfg]).status).toBe(0);
    const lines = readFileSync(out, "utf8").split("\r\n");
    expect(lines[0]?.split(",").indexOf("portalTemplate")).toBe(9);
    expect(lines[1]).toBe("acme,ACME,default,,,,,,,gold,,,,,,,,,,,");
    const store = createDuckDbRegistry({ path: join(dir, "registry.duckdb") });
    await store.start();
    const snap = await store.snapshot();
    await store.stop();
    expect([snap.version, snap.customers.at(0)?.portalTemplate]).toEqual([1, "gold"]);
  });

  it("refuses an invalid file naming the line and the column, and writes nothing", async () => {
    const dir = tempDir();
    const cfg = databaseConfig(dir);
    const dump = join(dir, "dump.csv");
    writeFileSync(dump, DUMP);
    runCli(["customers", "import", dump, "-c", cfg]);
    const header = DUMP.split("\r\n")[0];
    const bad = join(dir, "bad.csv");
    writeFileSync(
      bad,
      [
        header,
        "c1,s,a,C1,,,,,,,,,,,,,192.0.2.0/28,,,",
        "c1,s,b,C1,,,,,,,,,,,,,10.0.0.1/24,,x7,",
        "c2,s,a,C2,,,,,,,,,,,,,192.0.2.0/28,,,",
        "",
      ].join("\n"),
    );
    const r = runCli(["customers", "import", bad, "-c", cfg]);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(
      `flowtally: ${bad}: invalid customers\n  line 3, column ifIndex: "x7" is not a whole number [FT_REGISTRY_INVALID]\n`,
    );
    // The row fixed, the tree's rules: the prefix given twice names both lines.
    writeFileSync(bad, readFileSync(bad, "utf8").replace(",x7,", ",,"));
    const tree = runCli(["customers", "import", bad, "-c", cfg]);
    expect(tree.stderr.split("\n")).toEqual([
      `flowtally: ${bad}: invalid customers`,
      '  line 3: customers/c1/sites/s/links/b.prefixes[0]: "10.0.0.1/24" is not a prefix: "10.0.0.1/24" has host bits set (did you mean 10.0.0.0/24?)',
      '  line 4: customers/c2/sites/s/links/a.prefixes[0]: "192.0.2.0/28" is also given to line 2: customers/c1/sites/s/links/a.prefixes[0] [FT_REGISTRY_INVALID]',
      "",
    ]);
    const headerless = join(dir, "headerless.csv");
    writeFileSync(headerless, "customer,nom,site,link\nc1,C1,s,a\n");
    expect(runCli(["customers", "import", headerless, "-c", cfg]).stderr).toContain(
      `${headerless}: line 1: the header has unknown columns: "nom"; lacks columns: name, serviceType,`,
    );
    const store = createDuckDbRegistry({ path: join(dir, "registry.duckdb") });
    await store.start();
    expect(await store.version()).toBe(1);
    expect((await store.snapshot()).customers.toArray().map((c) => c.id)).toEqual(["acme", "beta"]);
    await store.stop();
  });

  it("says which process holds the embedded file, and refuses an import with registry.source: config", async () => {
    const dir = tempDir();
    const cfg = databaseConfig(dir);
    const holder = createDuckDbRegistry({ path: join(dir, "registry.duckdb") });
    await holder.start();
    onTestFinished(() => holder.stop());
    const dump = join(dir, "dump.csv");
    writeFileSync(dump, DUMP);
    const r = await runCliAsync(["customers", "import", dump, "-c", cfg]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(
      `registry.embedded.path ${join(dir, "registry.duckdb")} is in use by another process (PID ${process.pid}, `,
    );
    expect(r.stderr).toContain("stop flowtally run");
    expect(r.stderr).toContain("[FT_DATA_LOCKED]");

    const configured = join(dir, "config-source.yaml");
    writeFileSync(
      configured,
      `dataDir: ${JSON.stringify(dir)}\ncustomers:\n  - { id: z, name: Zed, sites: [{ id: s, links: [{ id: l, prefixes: [203.0.113.0/24] }] }] }\n  - { id: a, name: Ay, sites: [{ id: s, links: [{ id: l, router: 198.51.100.9, ifIndex: 3 }] }] }\n`,
    );
    const refused = runCli(["customers", "import", dump, "-c", configured]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('registry.source is "config"');
    expect(refused.stderr).toContain("[FT_REGISTRY_SOURCE]");
    const out = join(dir, "from-config.csv");
    const exported = runCli(["customers", "export", out, "-c", configured]);
    expect(exported.stdout).toBe(
      `exported 2 customers (the config's customers (registry.source: config)) to ${out}\n`,
    );
    expect(readFileSync(out, "utf8").split("\r\n").slice(1)).toEqual([
      "a,Ay,default,,,,,,,,s,,,,l,,,,198.51.100.9,3,",
      "z,Zed,default,,,,,,,,s,,,,l,,,203.0.113.0/24,,,",
      "",
    ]);
  });
});

describe("flowtally customers --api (a running flowtally holds the registry)", () => {
  const TOKEN = "customers-api-token-0123456789";
  it("exports, dry-runs and imports through the API while run holds the embedded file", async () => {
    const dir = tempDir();
    const cfg = databaseConfig(
      dir,
      `api: { listen: "127.0.0.1:0", operatorTokens: [${TOKEN}] }\ninputs: { netflow: [{ listen: "127.0.0.1:0", allowedExporters: [127.0.0.0/8] }] }\n`,
    );
    const running = await startRun(cfg);
    const env = { FLOWTALLY_TOKEN: TOKEN };
    const dump = join(dir, "dump.csv");
    writeFileSync(dump, DUMP);
    // Directly, the file is held: the message says to use the API.
    const direct = await runCliAsync(["customers", "import", dump, "-c", cfg]);
    expect(direct.status).toBe(1);
    expect(direct.stderr).toContain("[FT_DATA_LOCKED]");

    const dry = await runCliAsync(
      ["customers", "import", dump, "--api", running.apiUrl, "--dry-run"],
      env,
    );
    expect(dry.stderr).toBe("");
    expect(dry.stdout.split("\n").slice(-3)).toEqual([
      "6 to add, 0 to change, 0 to delete",
      "dry run: nothing written (registry version 0)",
      "",
    ]);
    const imported = await runCliAsync(["customers", "import", dump, "--api", running.apiUrl], env);
    expect(imported.stderr).toBe("");
    expect(imported.stdout).toBe(
      `6 to add, 0 to change, 0 to delete\nimported ${dump}: registry version 1\n`,
    );
    const listed = await fetch(`${running.apiUrl}/api/v1/customers?fields=id,name`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(((await listed.json()) as { items: unknown[] }).items).toEqual([
      { id: "acme", name: "ACME, Inc." },
      { id: "beta", name: "Beta 株式会社" },
    ]);
    // The audit log names the token, not the CLI's user: the API made the change.
    const audit = await fetch(`${running.apiUrl}/api/v1/registry/audit`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(
      ((await audit.json()) as { entries: Array<{ actor: string }> }).entries[0]!.actor,
    ).toMatch(/^operator-token:[0-9a-f]{4}$/);

    const out = join(dir, "back.yaml");
    const exported = await runCliAsync(["customers", "export", out, "--api", running.apiUrl], env);
    expect(exported.stdout).toBe(`exported 2 customers (registry version 1) to ${out}\n`);
    const again = await runCliAsync(["customers", "import", out, "--api", running.apiUrl], env);
    expect(again.stdout).toContain("the registry already holds this tree (version 1)");

    // An edited file, and an edit through the API meanwhile: the import's diff is made from the
    // tree read when it runs, so the file wins, as a whole; the changes it sends carry the
    // revisions it read, so an edit between its read and its write would refuse it (412).
    writeFileSync(out, readFileSync(out, "utf8").replace("Beta 株式会社", "Beta GmbH"));
    const stale = await runCliAsync(
      ["customers", "import", out, "--api", running.apiUrl, "-n"],
      env,
    );
    expect(stale.stdout).toContain("~ customers/beta: name");
    const patched = await fetch(`${running.apiUrl}/api/v1/customers/beta`, {
      method: "PATCH",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ description: "edited meanwhile" }),
    });
    expect(patched.status).toBe(200);
    const raced = await runCliAsync(["customers", "import", out, "--api", running.apiUrl], env);
    expect(raced.status, raced.stderr).toBe(0);
    const beta = (await (
      await fetch(`${running.apiUrl}/api/v1/customers/beta`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      })
    ).json()) as { name: string; description?: string };
    expect(beta).toMatchObject({ name: "Beta GmbH" });
    expect(beta.description).toBeUndefined();

    const noToken = await runCliAsync(["customers", "export", out, "--api", running.apiUrl], {
      FLOWTALLY_TOKEN: "",
    });
    expect(noToken.status).toBe(1);
    expect(noToken.stderr).toContain("[FT_API_TOKEN]");
    const both = await runCliAsync(
      ["customers", "export", out, "--api", running.apiUrl, "-c", cfg],
      env,
    );
    expect(both.stderr).toContain("one of the two");
    const stopped = await running.stop();
    expect(stopped.status).toBe(0);
  });
});

describe("flowtally customers (PostgreSQL registry)", () => {
  let server: PostgresServer;
  beforeAll(async () => {
    server = await startPostgres();
  }, 60_000);
  afterAll(() => server?.close());

  it("imports into PostgreSQL while another process has it open, and exports it back", async () => {
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    await admin.query("CREATE DATABASE customers_cli");
    await admin.end();
    const url = new URL(server.url);
    url.pathname = "/customers_cli";
    const dir = tempDir();
    const cfg = join(dir, "ft.yaml");
    writeFileSync(
      cfg,
      `dataDir: ${JSON.stringify(dir)}\nregistry: { source: database, postgres: { url: "${url}" } }\n`,
    );
    const running = createPostgresRegistry({ url: url.toString() });
    await running.start();
    onTestFinished(() => running.stop());
    const dump = join(dir, "dump.csv");
    writeFileSync(dump, DUMP);
    const r = await runCliAsync(["customers", "import", dump, "-c", cfg]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe(
      `6 to add, 0 to change, 0 to delete\nimported ${dump}: registry version 1\n`,
    );
    // The process that had it open sees the import.
    const snap = await running.snapshot();
    expect(snap.version).toBe(1);
    expect(snap.customers.toArray().map((c) => [c.id, c.sites.length])).toEqual([
      ["acme", 2],
      ["beta", 0],
    ]);
    const out = join(dir, "out.yaml");
    expect((await runCliAsync(["customers", "export", out, "-c", cfg])).status).toBe(0);
    const again = await runCliAsync(["customers", "import", out, "-c", cfg, "--dry-run"]);
    expect(again.stdout).toBe(
      "0 to add, 0 to change, 0 to delete\ndry run: nothing written (registry version 1)\n",
    );
  });
});
