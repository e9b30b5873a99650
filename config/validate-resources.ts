/**
 * Checks that one process would not use the same address or file twice: two listeners on one
 * port, or two components writing one file. At run time the second listener fails with "in use
 * by another program" and the second file is clobbered; here both config paths are named.
 */
import { createPrivateKey, type KeyObject, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { isIPv4, isIPv6 } from "node:net";
import { resolve } from "node:path";
import { parseAddress } from "../collector/classify/prefix-table.js";
import type { Config } from "../schema/config.js";
import { parseHostPort } from "../schema/units.js";

type Protocol = "UDP" | "TCP";

interface Listener {
  path: string;
  protocol: Protocol;
  text: string;
  host: BindHost;
  port: number;
}

/**
 * Where a socket binds: every IPv4 address (0.0.0.0), every address of both families (`::`: the
 * sockets are dual-stack, Linux's default net.ipv6.bindv6only=0), one address, or a host name
 * (resolved when it binds; a UDP input binds a name as IPv4).
 */
type BindHost =
  | { kind: "any4" }
  | { kind: "any6" }
  | { kind: "ip"; family: 4 | 6; address: string }
  | { kind: "name"; name: string };

/** Every listener of the config, in config order: UDP inputs, then the API (TCP). */
function listeners(cfg: Config): Listener[] {
  const out: Listener[] = [];
  const add = (path: string, protocol: Protocol, text: string) => {
    const hp = parseHostPort(text);
    if (hp === null) return; // the schema has said why
    out.push({ path, protocol, text, host: bindHost(hp.host), port: hp.port });
  };
  for (const [k, input] of cfg.inputs.netflow.entries()) {
    add(`inputs.netflow[${k}].listen`, "UDP", input.listen);
  }
  for (const [k, input] of cfg.inputs.sflow.entries()) {
    add(`inputs.sflow[${k}].listen`, "UDP", input.listen);
  }
  add("api.listen", "TCP", cfg.api.listen);
  return out;
}

function bindHost(host: string): BindHost {
  if (!isIPv4(host) && !isIPv6(host)) return { kind: "name", name: host.toLowerCase() };
  const parsed = parseAddress(host);
  if ("error" in parsed) return { kind: "name", name: host.toLowerCase() };
  let bytes = parsed.bytes;
  // ::ffff:a.b.c.d is the IPv4 address a.b.c.d on a dual-stack socket.
  if (bytes.length === 16 && bytes.subarray(0, 10).every((b) => b === 0)) {
    if (bytes[10] === 0xff && bytes[11] === 0xff) bytes = bytes.subarray(12);
  }
  if (bytes.every((b) => b === 0)) return { kind: bytes.length === 4 ? "any4" : "any6" };
  return { kind: "ip", family: bytes.length === 4 ? 4 : 6, address: bytes.join(".") };
}

/** Whether two binds of one protocol and port would collide. */
function overlap(a: BindHost, b: BindHost, protocol: Protocol): boolean {
  if (a.kind === "any6" || b.kind === "any6") return true;
  if (a.kind === "any4" || b.kind === "any4") {
    const other = a.kind === "any4" ? b : a;
    return (
      other.kind === "any4" ||
      (other.kind === "ip" && other.family === 4) ||
      // A UDP input binds a name as IPv4; an API name may be IPv6 as well: not known here.
      (other.kind === "name" && protocol === "UDP")
    );
  }
  if (a.kind === "ip" && b.kind === "ip") return a.address === b.address;
  if (a.kind === "name" && b.kind === "name") return a.name === b.name;
  return false; // a name and an address: only DNS knows
}

/** Both config paths of each address used twice, and of each file two components would write. */
export function validateResources(cfg: Config): string[] {
  const problems: string[] = [];
  const all = listeners(cfg);
  all.forEach((l, k) => {
    // Port 0 asks the kernel for a free port: any number of them.
    if (l.port === 0) return;
    const first = all
      .slice(0, k)
      .find(
        (o) =>
          o.protocol === l.protocol && o.port === l.port && overlap(o.host, l.host, l.protocol),
      );
    if (first !== undefined) {
      problems.push(
        `${l.path}: ${l.protocol} "${l.text}" is also ${first.path} ("${first.text}"): two sockets cannot listen on one port of one address`,
      );
    }
  });

  const files: Array<[string, string]> = [
    ["decoder.statePath", cfg.decoder.statePath],
    ["collector.spoolPath", cfg.collector.spoolPath],
  ];
  if (cfg.store.influx === undefined)
    files.unshift(["store.embedded.path", cfg.store.embedded.path]);
  if (cfg.registry.postgres === undefined) {
    files.push(["registry.embedded.path", cfg.registry.embedded.path]);
  }
  const owner = new Map<string, string>();
  for (const [path, file] of files) {
    // "" disables the state file and the spool; ":memory:" is a store without a file.
    if (file === "" || file === ":memory:") continue;
    const full = resolve(file);
    const first = owner.get(full);
    if (first !== undefined) {
      problems.push(`${path}: "${file}" is also ${first}: each needs a file of its own`);
    } else owner.set(full, path);
  }
  problems.push(...tlsProblems(cfg));
  return problems;
}

/**
 * The registry's settings that only make sense together: with `registry.source: database` the
 * customers come from the database, so `customers:` in the file would be silently ignored; and a
 * scaled-out setup (a `queue`) has several processes, which cannot share the embedded file.
 */
export function validateRegistry(cfg: Config): string[] {
  if (cfg.registry.source !== "database") return [];
  const problems: string[] = [];
  if (cfg.customers.length > 0) {
    problems.push(
      `customers: ${cfg.customers.length} customers are given while registry.source is "database", where they would be ignored: move them into the registry with \`flowtally customers import\` and remove them from the file, or set registry.source: config`,
    );
  }
  if (cfg.queue !== undefined && cfg.registry.postgres === undefined) {
    problems.push(
      'registry.postgres.url: is needed when registry.source is "database" and a queue is configured (scaled out): the processes share the registry, and the embedded file can be opened by one process only',
    );
  }
  return problems;
}

/**
 * api.tls: both files readable, the certificate an X.509 certificate and the key a private key
 * (PEM), and the key the certificate's, so that a mistake shows at config load, not at listen.
 */
export function tlsProblems(cfg: Config): string[] {
  const { cert, key } = cfg.api.tls;
  if (cert === undefined || key === undefined) return [];
  const read = (path: string, file: string): Buffer | string => {
    try {
      return readFileSync(file);
    } catch (e) {
      return `${path}: "${file}" cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`;
    }
  };
  const certPem = read("api.tls.cert", cert);
  const keyPem = read("api.tls.key", key);
  const problems = [certPem, keyPem].filter((p): p is string => typeof p === "string");
  if (problems.length > 0) return problems;
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(certPem);
  } catch {
    return [`api.tls.cert: "${cert}" is not a PEM X.509 certificate`];
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(keyPem);
  } catch {
    return [`api.tls.key: "${key}" is not a PEM private key (or it is encrypted)`];
  }
  if (!x509.checkPrivateKey(privateKey)) {
    return [`api.tls.key: "${key}" is not the key of the certificate api.tls.cert "${cert}"`];
  }
  return [];
}
