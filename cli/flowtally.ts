#!/usr/bin/env node
/**
 * The flowtally command line. Commands load their modules lazily so that `--help` and
 * `check-config` start fast.
 */
import { once } from "node:events";
import { Command, InvalidArgumentError, Option } from "commander";
import type { Logger } from "pino";
import { printable } from "../config/printable.js";
import { overviewColumns } from "../query/overview.js";
import type { Config } from "../schema/config.js";
import { isFlowtallyError } from "../schema/errors.js";
import { type LogLevel, logLevels } from "../schema/log-levels.js";
import { packageVersion } from "./package-version.js";
import type { WalSummary } from "./run-command.js";

const program = new Command()
  .name("flowtally")
  .description(
    "Traffic metrics collector for network service providers: NetFlow v5/v9, IPFIX (and sFlow, packets) in, per-customer series out.",
  )
  .version(packageVersion(), "-V, --version")
  .showHelpAfterError("(run with --help for usage)");

program
  .command("decode")
  .description(
    "Decode the NetFlow/IPFIX exports in capture files (pcap or pcapng) and print what was found: per exporter counts, decode problems, totals, or every record.",
  )
  .argument("<capture...>", "pcap or pcapng files, replayed in order on their own timestamps")
  .option("-c, --config <file>", "config file (only its decoder section is used)")
  .option(
    "-p, --port <port>",
    "only UDP datagrams to this destination port (repeatable; default: every UDP datagram, dispatched on the version field)",
    collectPort,
    [] as number[],
  )
  .addOption(
    new Option("-f, --format <format>", "summary format")
      .choices(["table", "json"])
      .default("table"),
  )
  .option("-r, --records", "print every record as one JSON object per line (NDJSON) instead")
  .addOption(
    new Option("-l, --log-level <level>", "log level (logs go to stderr)")
      .choices(logLevels)
      .default("warn"),
  )
  .option(
    "-s, --state <file>",
    "load templates and sampling rates from this state file first, and save them back at the end",
  )
  .action(async (captures: string[], opts) => {
    const { runDecode } = await import("./decode-command.js");
    process.exitCode = await runDecode(captures, opts);
  });

program
  .command("run")
  .description(
    "Collector, aggregator and query API in one process: listen for NetFlow/IPFIX on inputs.netflow[].listen, write per-customer series to the configured store (embedded, or InfluxDB with store.influx), serve the HTTP API on api.listen. Stops cleanly (everything received is written) on SIGINT or SIGTERM.",
  )
  .requiredOption("-c, --config <file>", "config file")
  .addOption(logLevelOption())
  .addOption(listenOption())
  .action(async (opts: ServiceOptions, cmd: Command) => {
    const service = await loadService(opts, cmd);
    const { cfg, log } = service;
    const { startRun } = await import("./run-command.js");
    // Listening for the signal before starting: one sent while starting stops once started.
    const signalled = stopSignal(log, "writing every open interval");
    const hangup = await reloadOnHangup(opts.config, service, "model");
    const running = await startRun(cfg, log);
    hangup.started(running);
    await signalled;
    hangup.stop();
    const s = await running.stop();
    const { "sampling-unknown": unsampled, ...problems } = s.problems;
    process.stdout.write(
      `received ${s.datagrams} export datagrams, ${s.records} records (${s.unattributedRecords} unattributed), ` +
        `${s.seriesRowsWritten} series rows written; datagrams dropped by the kernel: ${s.kernelDrops ?? "unknown"}, left undecoded at stop: ${s.undrainedDatagrams}\n` +
        (unsampled === undefined
          ? ""
          : `${unsampled} records came without a sampling rate and were counted at 1:1 (decoder.unknownSampling)\n`) +
        (s.futureRecords > 0
          ? `${s.futureRecords} records stamped in the future were counted at their arrival (aggregation.maxFuture)\n`
          : "") +
        droppedSummary(s) +
        walLine(s.wal) +
        (Object.keys(problems).length > 0 ? `decode problems: ${JSON.stringify(problems)}\n` : "") +
        (s.capture === null
          ? ""
          : `captured ${s.capture.packets} packets on ${s.capture.inputs.length} interface(s): ${s.capture.records} flow records (${s.capture.unattributedRecords} unattributed), ${s.capture.transactions} TCP transactions; packets dropped by the kernel: ${s.capture.kernelDrops}, by the interface: ${s.capture.interfaceDrops}\n`),
    );
    reportStoreFailures(s);
  });

program
  .command("collect")
  .description(
    "Scaled out: a collector only. Listens like `run` (inputs.*), classifies and pre-aggregates, and ships per-interval partials to the queue (queue.redis.url) for `flowtally aggregate`. Serves /healthz, /metrics and /api/v1/status on api.listen.",
  )
  .requiredOption("-c, --config <file>", "config file")
  .addOption(logLevelOption())
  .addOption(listenOption())
  .action(async (opts: ServiceOptions, cmd: Command) => {
    const service = await loadService(opts, cmd);
    const { cfg, log } = service;
    const { startCollect } = await import("./collect-command.js");
    const signalled = stopSignal(log, "shipping every open interval");
    const hangup = await reloadOnHangup(opts.config, service, "model");
    const running = await startCollect(cfg, log);
    hangup.started(running);
    await signalled;
    hangup.stop();
    const s = await running.stop();
    process.stdout.write(
      `received ${s.datagrams} export datagrams, ${s.records} records (${s.unattributedRecords} unattributed); ` +
        `partials messages shipped: ${s.queue?.shippedMessages ?? 0}, still buffered: ${s.queue?.bufferedMessages ?? 0}; datagrams dropped by the kernel: ${s.kernelDrops ?? "unknown"}, left undecoded at stop: ${s.undrainedDatagrams}\n` +
        droppedSummary(s) +
        walLine(s.wal),
    );
  });

program
  .command("aggregate")
  .description(
    "Scaled out: an aggregator worker. Takes partials from the queue (queue.redis.url), keeps exactly-once totals in Redis and writes them to the store. Any number of them share the work. Serves /healthz and /metrics on api.listen.",
  )
  .requiredOption("-c, --config <file>", "config file")
  .addOption(logLevelOption())
  .addOption(listenOption())
  .action(async (opts: ServiceOptions, cmd: Command) => {
    const service = await loadService(opts, cmd);
    const { cfg, log } = service;
    const { startAggregate } = await import("./aggregate-command.js");
    const signalled = stopSignal(log, "finishing the jobs in hand and writing the totals");
    const hangup = await reloadOnHangup(opts.config, service, "log");
    const running = await startAggregate(cfg, log);
    hangup.started({ reload() {} });
    await signalled;
    hangup.stop();
    await running.stop();
  });

program
  .command("serve")
  .description("Scaled out: the query API only, reading the configured store, on api.listen.")
  .requiredOption("-c, --config <file>", "config file")
  .addOption(logLevelOption())
  .addOption(listenOption())
  .action(async (opts: ServiceOptions, cmd: Command) => {
    const service = await loadService(opts, cmd);
    const { cfg, log } = service;
    const { startServe } = await import("./aggregate-command.js");
    const signalled = stopSignal(log, "closing the API");
    const hangup = await reloadOnHangup(opts.config, service, "api");
    const running = await startServe(cfg, log);
    hangup.started({ reload: (next) => running.reload?.(next) });
    await signalled;
    hangup.stop();
    await running.stop();
  });

program
  .command("replay")
  .description(
    "Run the single-box pipeline over capture files of flow exports, on the packets' own timestamps, and write the series to the configured store",
  )
  .requiredOption(
    "-c, --config <file>",
    "config file (inputs.netflow[].listen ports tell exports apart)",
  )
  .argument("<capture...>", "pcap or pcapng files, in time order")
  .addOption(
    new Option(
      "-l, --log-level <level>",
      "log level (logs go to stderr); default: the config's log.level, else warn",
    ).choices(logLevels),
  )
  .option("--no-progress", "no progress line, even on a terminal")
  .addOption(
    new Option(
      "--exports <which>",
      "NetFlow/IPFIX/sFlow datagrams to UDP ports the config does not list: counted and named in a warning (listed), or decoded too (auto); never counted as traffic",
    )
      .choices(["listed", "auto"])
      .default("listed"),
  )
  .action(
    async (
      captures: string[],
      opts: { config: string; logLevel: LogLevel; progress: boolean; exports: "listed" | "auto" },
      cmd: Command,
    ) => {
      const { runReplay, describeUnlisted } = await import("./replay-command.js");
      const s = await runReplay(captures, {
        config: opts.config,
        // The config's log.level unless the command line says.
        ...(cmd.getOptionValueSource("logLevel") === "cli" ? { logLevel: opts.logLevel } : {}),
        exports: opts.exports,
        ...(opts.progress ? {} : { progress: false }),
      });
      const unlisted = s.unlistedExports.reduce((n, u) => n + u.datagrams, 0);
      const { "sampling-unknown": unsampled, ...problems } = s.problems;
      process.stdout.write(
        `replayed ${s.captures} capture(s): ${s.datagrams} export datagrams, ${s.packets} other packets` +
          (s.packets > 0
            ? ` (${s.packetFlowRecords} flow records, ${s.transactions} TCP transactions timed, ${s.nonIpPackets} without IP)`
            : "") +
          `; ${s.records} records (${s.unattributedRecords} unattributed), ${s.seriesRowsWritten} series rows written\n` +
          droppedSummary({
            refusedDatagrams: 0,
            refusedBySource: {},
            droppedRecords: s.droppedRecords,
          }) +
          (unsampled === undefined
            ? ""
            : `${unsampled} records came without a sampling rate and were counted at 1:1 (decoder.unknownSampling)\n`) +
          (Object.keys(problems).length > 0
            ? `decode problems: ${JSON.stringify(problems)}\n`
            : "") +
          (unlisted === 0
            ? ""
            : s.unlistedExportsDecoded
              ? `of the export datagrams, ${unlisted} went to UDP ports the config does not list and were decoded (--exports auto): ${describeUnlisted(s.unlistedExports)}\n`
              : `${unlisted} datagrams to UDP ports the config does not list look like flow exports, not decoded and not counted as traffic (${describeUnlisted(s.unlistedExports)}): replay with --exports auto, or add the port to inputs.netflow[].listen (sFlow: inputs.sflow[].listen)\n`),
      );
      reportStoreFailures(s);
    },
  );

program
  .command("send")
  .description(
    "Send the UDP payloads of capture files (recorded flow exports) to a collector, paced, in file order: to try flowtally out or reproduce a recording",
  )
  .requiredOption("--to <host:port>", "where to send (a flowtally run input, e.g. 127.0.0.1:2055)")
  .argument("<capture...>", "pcap or pcapng files, sent in order")
  .option(
    "-p, --port <port>",
    "only datagrams to this destination port in the capture (repeatable; default: every UDP datagram)",
    collectPort,
    [] as number[],
  )
  .option("--rate <datagrams/s>", "sending rate", parsePositive, 5000)
  .option(
    "--retime",
    "move every time in the NetFlow/IPFIX exports by the same amount, so that the latest record ends now (old captures show up in today's graphs)",
  )
  .option(
    "--retime-to <time>",
    "like --retime, the latest record ending at this time instead: ISO 8601 or now-2m, now-1h, today (UTC)",
  )
  .action(
    async (
      captures: string[],
      opts: { to: string; port: number[]; rate: number; retime?: boolean; retimeTo?: string },
    ) => {
      const { runSend, retimeSummaryLine } = await import("./send-command.js");
      let retimeTo = opts.retime === true ? Date.now() : undefined;
      if (opts.retimeTo !== undefined) {
        const { parseQueryTime, RELATIVE_TIME_FORMS } = await import("./query-times.js");
        retimeTo = parseQueryTime(opts.retimeTo, Date.now(), 1);
        if (Number.isNaN(retimeTo)) {
          process.stderr.write(
            `flowtally send: --retime-to "${printable(opts.retimeTo)}" is not ISO 8601 (2026-11-22T10:00:00Z) or ${RELATIVE_TIME_FORMS}\n`,
          );
          process.exitCode = 1;
          return;
        }
      }
      const s = await runSend(captures, {
        to: opts.to,
        ports: opts.port,
        rate: opts.rate,
        ...(retimeTo === undefined ? {} : { retimeTo }),
      });
      process.stdout.write(
        `sent ${s.datagrams} datagrams (${s.bytes} bytes) to ${opts.to} in ${s.seconds.toFixed(2)} s\n` +
          (s.retime === undefined ? "" : retimeSummaryLine(s.retime)),
      );
    },
  );

const query = program
  .command("query")
  .description(
    "Query the stored series: from a running flowtally's API (--api URL, token in FLOWTALLY_TOKEN or --token-file), or from the configured store (--config FILE, when no process holds it)",
  );

/** The options every `query` command takes: where to ask, the range, the format. */
function queryCommand(name: string, description: string): Command {
  return query
    .command(name)
    .description(description)
    .addOption(
      new Option("-c, --config <file>", "config file: open its store (not while run holds it)"),
    )
    .addOption(
      new Option(
        "--api <url>",
        "ask the HTTP API of a running flowtally instead (http://127.0.0.1:8080); the token comes from FLOWTALLY_TOKEN or --token-file",
      ).conflicts("config"),
    )
    .option("--token-file <file>", "with --api: read the operator token from the file's first line")
    .addOption(new Option("--token <token>").hideHelp())
    .requiredOption(
      "--from <time>",
      "start: ISO 8601 (2026-11-22T00:00:00Z) or now-15m, now-6h, now-7d, today, yesterday, this-month, last-month (UTC)",
    )
    .option("--to <time>", "end (exclusive), as --from; default: now, rounded down to the step")
    .addOption(
      new Option(
        "-f, --format <format>",
        "output format: a table in human units, or exact CSV or JSON",
      )
        .choices(["table", "csv", "json"])
        .default("table"),
    );
}

queryCommand(
  "overview",
  "Every customer with bytes and packets in (download) and out (upload) for a period",
)
  .option("--router <address>", "only customers with a link on this exporter's interfaces")
  .option("--service-type <type>", "only customers of this service type")
  .addOption(
    new Option("--sort <column>", "sort column").choices(overviewColumns).default("bytesIn"),
  )
  .addOption(new Option("--order <order>", "sort order").choices(["asc", "desc"]).default("desc"))
  .option("--top <n>", "only the first N rows after sorting", parseTop)
  .option(
    "--fields <columns>",
    `with --format csv: these columns in this order, separated by commas (${overviewColumns.join(", ")})`,
  )
  .action(async (opts) => {
    const { runQueryCommand } = await import("./query-command.js");
    process.stdout.write(await runQueryCommand("overview", undefined, opts));
  });

for (const [name, description] of [
  [
    "traffic",
    "One customer's traffic as a point per step: bytes, packets, average and peak rates, and the 95th percentile",
  ],
  [
    "response-times",
    "One customer's TCP response times as a point per step: transactions, good ratio, delays and their percentiles",
  ],
] as const) {
  queryCommand(name, description)
    .argument("<customer>", "customer id (or unattributed)")
    .addOption(
      new Option("--step <step>", "one point per").choices(["1m", "5m", "1h", "1d"]).default("1h"),
    )
    .option("--site <site>", "only this site of the customer")
    .option("--link <link>", "only links with this id")
    .option("--class <class>", "only this traffic class")
    .action(async (customer: string, opts) => {
      const { runQueryCommand } = await import("./query-command.js");
      process.stdout.write(await runQueryCommand(name, customer, opts));
    });
}

const customers = program
  .command("customers")
  .description(
    "Move the whole customer registry (registry.source: database) in and out of a file: YAML (the config's customers: format) or CSV (one row per access link), by extension or --format",
  );

customers
  .command("import")
  .description(
    "Replace the registry's customers, sites and links with the file's, as one atomic change (adds, updates, deletes); --dry-run prints the changes and writes nothing",
  )
  .argument("<file>", "a .yaml/.yml or .csv file (a whole flowtally config file works too)")
  .option(
    "-c, --config <file>",
    "config file: its registry (not while run holds the embedded file)",
  )
  .option(
    "--api <url>",
    "through a running flowtally's API instead (http://127.0.0.1:8080); the token comes from FLOWTALLY_TOKEN or --token-file",
  )
  .option("--token-file <file>", "with --api: read the operator token from the file's first line")
  .addOption(new Option("--token <token>").hideHelp())
  .addOption(new Option("-f, --format <format>", "file format").choices(["yaml", "csv"]))
  .option("-n, --dry-run", "print what would be added, changed and deleted; write nothing")
  .action(async (file: string, opts) => {
    const { runCustomersImport } = await import("./customers-command.js");
    process.stdout.write(await runCustomersImport(file, opts));
  });

customers
  .command("export")
  .description(
    "Write the registry's customers, sites and links (with registry.source: config, the config's customers) to a file",
  )
  .argument("<file>", "a .yaml/.yml or .csv file, written whole (replaced if it exists)")
  .option(
    "-c, --config <file>",
    "config file: its registry (not while run holds the embedded file)",
  )
  .option(
    "--api <url>",
    "through a running flowtally's API instead; the token comes from FLOWTALLY_TOKEN or --token-file",
  )
  .option("--token-file <file>", "with --api: read the operator token from the file's first line")
  .addOption(new Option("--token <token>").hideHelp())
  .addOption(new Option("-f, --format <format>", "file format").choices(["yaml", "csv"]))
  .action(async (file: string, opts) => {
    const { runCustomersExport } = await import("./customers-command.js");
    process.stdout.write(await runCustomersExport(file, opts));
  });

program
  .command("check-config")
  .description("Validate a config file and print the effective configuration (defaults filled in)")
  .requiredOption("-c, --config <file>", "config file")
  .action(async (opts: { config: string }) => {
    const { loadConfigFile } = await import("../config/load-config.js");
    const { describeStore } = await import("../store/configured-store.js");
    const { dataFiles } = await import("../config/data-paths.js");
    const { configWarnings, formatWarning } = await import("../config/config-warnings.js");
    const { configViewParts } = await import("../config/config-view.js");
    const { loadPortalTemplates } = await import("../web/portal/templates.js");
    const cfg = loadConfigFile(opts.config);
    // The provider's portal templates: an unknown placeholder or refused markup, by file and line.
    loadPortalTemplates(cfg);
    const warnings = configWarnings(cfg);
    for (const w of warnings) process.stderr.write(`flowtally: warning: ${formatWarning(w)}\n`);
    const files = Object.entries(dataFiles(cfg))
      .map(([k, v]) => `${k}: ${printable(v)}\n`)
      .join("");
    // Every secret key (SECRET_KEYS) hidden, so the output can be pasted into a ticket.
    const ok = warnings.length === 0 ? "ok" : `ok, ${warnings.length} warning(s) on stderr`;
    process.stdout.write(
      `${printable(opts.config)}: ${ok}\nstore: ${describeStore(cfg.store)}\n${files}`,
    );
    // In parts: the view of 100 000 customers is 20 MB, never made whole. A pipe takes what its
    // reader has read: the next part waits for it rather than queue (and outlive a collection).
    for (const part of configViewParts(cfg)) {
      if (!process.stdout.write(part)) await once(process.stdout, "drain");
    }
    process.stdout.write("\n");
  });

const users = program
  .command("users")
  .description("API users in the registry database (docs/accounts.md)");
users
  .command("add <id>")
  .description(
    "Add a user (the first admin, say); the password is prompted for, or read from stdin's first line",
  )
  .requiredOption("-c, --config <file>", "config file (its registry database)")
  .addOption(
    new Option("--role <role>", "the user's role")
      .choices(["admin", "operator", "customer", "customer-admin"])
      .makeOptionMandatory(),
  )
  .option("--customer <id>", "the customer of a customer or customer-admin user")
  .option("--radius", "authenticate the user by RADIUS (no local password)")
  .option("--password-stdin", "read the password from stdin's first line, without a prompt")
  .action(async (id: string, opts) => {
    const { loadConfigFile } = await import("../config/load-config.js");
    const { createLogger } = await import("./logger.js");
    const { usersAdd } = await import("./users-command.js");
    const cfg = loadConfigFile(opts.config);
    process.stdout.write(`${await usersAdd(cfg, createLogger("warn"), id, opts)}\n`);
  });

/** The stop summary's lines for datagrams and records dropped on purpose (none: ""). */
function droppedSummary(s: {
  refusedDatagrams: number;
  refusedBySource: Record<string, number>;
  droppedRecords: Record<string, number>;
}): string {
  const sources = Object.entries(s.refusedBySource)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 5)
    .map(([source, n]) => `${source}: ${n}`)
    .join(", ");
  const reasons = Object.entries(s.droppedRecords).filter(([, n]) => n > 0);
  return (
    (s.refusedDatagrams > 0
      ? `${s.refusedDatagrams} datagrams from sources not in allowedExporters were dropped (${sources})\n`
      : "") +
    (reasons.length > 0
      ? `records dropped: ${reasons.map(([r, n]) => `${r} ${n}`).join(", ")} (docs/decoding.md, "Bounds"; too-old: aggregation.maxPast)\n`
      : "")
  );
}

/** The write-ahead log's line of a stop summary. */
function walLine(w: WalSummary | null): string {
  if (w === null) return "";
  const mib = (w.appendedBytes / 2 ** 20).toFixed(1);
  return (
    `write-ahead log: ${mib} MiB in ${w.syncs} syncs (the last ${w.lastSyncMs} ms)` +
    (w.unloggedBatches > 0 ? `; ${w.unloggedBatches} hand-overs not logged (full or failed)` : "") +
    "\n"
  );
}

/**
 * After a summary: where the rows the store did not take went (stdout), and each store failure
 * as an error line with its code (stderr); exit status 1 if there was one.
 */
function reportStoreFailures(s: {
  storeFailures: ReadonlyArray<{ code: string; message: string }>;
  spooled: { path: string; rows: number } | null;
  inWal?: { path: string; rows: number } | null;
}): void {
  if (s.inWal != null) {
    process.stdout.write(
      `${s.inWal.rows} rows the store did not take stay in the write-ahead log ${s.inWal.path}; the next start writes them to the store first\n`,
    );
  }
  if (s.spooled !== null) {
    process.stdout.write(
      `${s.spooled.rows} rows the store did not take are spooled to ${s.spooled.path}; the next start writes them to the store first\n`,
    );
  }
  for (const f of s.storeFailures) process.stderr.write(`flowtally: ${f.message} [${f.code}]\n`);
  if (s.storeFailures.length > 0) process.exitCode = 1;
}

function parseTop(value: string): number {
  if (!/^[1-9][0-9]*$/.test(value)) {
    throw new InvalidArgumentError(`"${value}" is not a whole number from 1`);
  }
  return Number(value);
}

function parsePositive(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) {
    throw new InvalidArgumentError(`"${value}" is not a positive number`);
  }
  return n;
}

function logLevelOption(): Option {
  return new Option(
    "-l, --log-level <level>",
    "log level (logs go to stderr); instead of the config's log.level, also after a SIGHUP",
  )
    .choices(logLevels)
    .default("info");
}

interface ServiceOptions {
  config: string;
  logLevel: LogLevel;
  listen?: string;
}

/** --listen, or the environment variable it names: the HTTP API address of this process. */
function listenOption(): Option {
  return new Option(
    "--listen <host:port>",
    "HTTP API address of this process, instead of api.listen (so that processes on one host share a config)",
  ).env("FLOWTALLY_API_LISTEN");
}

/** What loadService gives: the config, the logger, and what a SIGHUP needs to reload. */
interface Service {
  cfg: Readonly<Config>;
  log: Logger;
  /** The config file as it is now, with the same overrides (SIGHUP). */
  reread: () => Readonly<Config>;
  /** --log-level when it is on the command line (it wins over log.level), and the default. */
  logLevel: { commandLine: LogLevel | undefined; fallback: LogLevel };
}

/**
 * The config and logger of run, collect, aggregate and serve, with --listen applied and logged;
 * the log level is --log-level on the command line, else the config's log.level, else info.
 */
async function loadService(opts: ServiceOptions, cmd: Command): Promise<Service> {
  const [
    { loadConfigFile },
    { logConfigWarnings },
    { createLogger },
    { overrideListen },
    { dataFiles },
  ] = await Promise.all([
    import("../config/load-config.js"),
    import("../config/config-warnings.js"),
    import("./logger.js"),
    import("../config/listen-override.js"),
    import("../config/data-paths.js"),
  ]);
  const fromEnv = cmd.getOptionValueSource("listen") === "env";
  // An empty FLOWTALLY_API_LISTEN (a unit's `Environment=FLOWTALLY_API_LISTEN=`) is no override.
  const listen = fromEnv && opts.listen === "" ? undefined : opts.listen;
  const from = fromEnv ? "FLOWTALLY_API_LISTEN" : "--listen";
  /** The config file as it is now, with the same override (SIGHUP). */
  const reread = () => overrideListen(loadConfigFile(opts.config), listen, from).cfg;
  const { cfg, override } = overrideListen(loadConfigFile(opts.config), listen, from);
  const logLevel = {
    commandLine: cmd.getOptionValueSource("logLevel") === "cli" ? opts.logLevel : undefined,
    fallback: opts.logLevel,
  };
  const log = createLogger(logLevel.commandLine ?? cfg.log.level ?? logLevel.fallback);
  logConfigWarnings(cfg, log);
  if (override !== undefined) {
    log.info(override, `api.listen overridden by ${override.from}: ${override.listen}`);
  }
  log.info(dataFiles(cfg), "data files");
  return { cfg, log, reread, logLevel };
}

/**
 * SIGHUP: reads the config file again and applies what the process can change while it runs
 * (docs/configuration.md, "Reloading"): for run and collect ("model") the customers and classes,
 * from the next datagram on, and the log level; for aggregate and serve ("log") the log level
 * (and `running.reload`, which for serve reads the portal templates again). A
 * file that does not load is refused in one coded log line and the running config kept; settings
 * read at start only are named as needing a restart. A SIGHUP while starting is applied once
 * started.
 */
async function reloadOnHangup(
  path: string,
  service: Service,
  applies: "model" | "api" | "log",
): Promise<{ started(running: { reload(cfg: Config): void }): void; stop(): void }> {
  const { restartNeeded, applyReload, effectiveLogLevel, RELOADED_KEYS, API_KEYS, LOG_ONLY_KEYS } =
    await import("../config/reload-plan.js");
  const { log, reread, logLevel } = service;
  const keys = applies === "model" ? RELOADED_KEYS : applies === "api" ? API_KEYS : LOG_ONLY_KEYS;
  let running: { reload(cfg: Config): void } | undefined;
  let waiting = false;
  let current = service.cfg;
  const reload = () => {
    if (running === undefined) {
      waiting = true;
      return;
    }
    let next: Readonly<Config>;
    try {
      next = reread();
    } catch (e) {
      const code = isFlowtallyError(e) ? e.code : "FT_CONFIG_INVALID";
      const message = e instanceof Error ? e.message : String(e);
      log.error(
        { signal: "SIGHUP", config: path, code },
        `config reload refused, the running config is kept: ${message} [${code}]`,
      );
      return;
    }
    const restart = restartNeeded(current, next, keys);
    if (restart.length > 0) {
      log.warn(
        { signal: "SIGHUP", config: path, restartNeeded: restart },
        `config reload: ${restart.join(", ")} changed, needs a restart (not applied)`,
      );
    }
    if (logLevel.commandLine !== undefined && next.log.level !== current.log.level) {
      log.info(
        { signal: "SIGHUP", config: path, logLevel: logLevel.commandLine },
        `config reload: log.level not applied, --log-level ${logLevel.commandLine} on the command line wins`,
      );
    }
    current = applyReload(current, next, keys);
    // aggregate reloads nothing; serve its API's customers, classes, billing and portal templates.
    running.reload(current);
    const level = effectiveLogLevel(current, logLevel.commandLine, logLevel.fallback);
    const line = {
      signal: "SIGHUP",
      config: path,
      // Not `level`: pino's own key.
      logLevel: level,
      ...(applies !== "log"
        ? {
            // With registry.source: database the customers are the registry's, not reloaded.
            ...(current.registry.source === "config"
              ? { customers: current.customers.length }
              : {}),
            classes: current.classes.length,
          }
        : {}),
    };
    const what =
      applies === "model"
        ? "config reloaded: customers and classes apply from the next datagram, billing and the log level now"
        : applies === "api"
          ? "config reloaded: the API's customers, classes and billing, and the log level apply now"
          : "config reloaded: the log level applies now (nothing else is reloaded by this command)";
    // Said at the louder of the two levels, so that a change either way shows in the log.
    if (log.levels.values[level]! < log.levelVal) {
      log.level = level;
      log.info(line, what);
    } else {
      log.info(line, what);
      log.level = level;
    }
  };
  const onHangup = () => {
    reload();
  };
  process.on("SIGHUP", onHangup);
  return {
    started(r) {
      running = r;
      if (waiting) reload();
    },
    stop() {
      // After the stop signal a reload would race the final hand-over: ignored, not fatal.
      running = undefined;
      process.off("SIGHUP", onHangup);
      process.on("SIGHUP", () => {});
    },
  };
}

/** Resolves at the first SIGINT or SIGTERM; a second one exits at once. */
function stopSignal(log: { info(o: object, msg: string): void }, doing: string): Promise<void> {
  return new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      log.info({ signal }, `stopping: ${doing}`);
      process.on(signal, () => {
        process.stderr.write("flowtally: second signal, exiting at once\n");
        process.exit(130);
      });
      resolve();
    };
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
  });
}

function collectPort(value: string, previous: number[]): number[] {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535) {
    throw new InvalidArgumentError(`"${value}" is not a UDP port (1-65535)`);
  }
  return [...previous, n];
}

// A reader that went away (`flowtally decode --records ... | head -1`) closes the pipe: stop
// quietly with status 0, as a command killed by SIGPIPE would, instead of a stack trace. Only
// stdout: results go there, and its reader leaving means nothing more is wanted (run, collect and
// aggregate write to it only once stopped; their logs go to stderr).
process.stdout.on("error", (e: NodeJS.ErrnoException) => {
  if (e.code === "EPIPE") process.exit(0);
  throw e;
});

program.parseAsync(process.argv).catch((e: unknown) => {
  if (isFlowtallyError(e)) {
    // Messages may quote a file name or a config value: no control character reaches the terminal.
    process.stderr.write(`flowtally: ${printable(e.message, true)} [${e.code}]\n`);
  } else {
    process.stderr.write(`flowtally: ${(e as Error).stack ?? String(e)}\n`);
  }
  process.exitCode = 1;
});
