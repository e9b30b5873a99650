#!/usr/bin/env node
/**
 * The flowtally command line. Commands load their modules lazily so that `--help` and
 * `check-config` start fast.
 */
import { Command, InvalidArgumentError, Option } from "commander";
import { isFlowtallyError } from "../schema/errors.js";
import { logLevels } from "./logger.js";
import { packageVersion } from "./package-version.js";

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
  .command("check-config")
  .description("Validate a config file and print the effective configuration (defaults filled in)")
  .requiredOption("-c, --config <file>", "config file")
  .action(async (opts: { config: string }) => {
    const { loadConfigFile } = await import("../config/load-config.js");
    const cfg = loadConfigFile(opts.config);
    process.stdout.write(`${opts.config}: ok\n${JSON.stringify(cfg, null, 2)}\n`);
  });

function collectPort(value: string, previous: number[]): number[] {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535) {
    throw new InvalidArgumentError(`"${value}" is not a UDP port (1-65535)`);
  }
  return [...previous, n];
}

program.parseAsync(process.argv).catch((e: unknown) => {
  if (isFlowtallyError(e)) {
    process.stderr.write(`flowtally: ${e.message} [${e.code}]\n`);
  } else {
    process.stderr.write(`flowtally: ${(e as Error).stack ?? String(e)}\n`);
  }
  process.exitCode = 1;
});
