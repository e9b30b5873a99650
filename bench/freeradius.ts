/**
 * FreeRADIUS (Debian's freeradius, 3.x) of its own for the RADIUS tests: a minimal config written
 * into a temporary directory (radiusd.conf with the clients and the one virtual server, a `files`
 * users file, the pap module), listening for Access-Requests on a free UDP port of 127.0.0.1 and
 * ::1; never /etc/freeradius, never port 1812. `freeradius -f -l stdout -d DIR`: in the
 * foreground, its log (logins, dropped packets; never passwords: auth_badpass and auth_goodpass
 * stay off) in the harness's output. As root it stays root (no `security.user`).
 *
 * What the config asks of a client is what flowtally's RADIUS client must do (CVE-2024-3596,
 * "BlastRADIUS"): `require_message_authenticator = yes` drops any Access-Request without a valid
 * Message-Authenticator, and every Access-Accept and Access-Reject carries one (post-auth adds
 * it: FreeRADIUS before 3.2.5 does not on its own), which the client requires. From 3.2.5 on,
 * `limit_proxy_state = yes` as well. Ready when it answers a probe with a verified reply.
 */
import { spawnSync } from "node:child_process";
import { createSocket } from "node:dgram";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { decodeReply, encodeAccessRequest, newAuthenticator } from "../accounts/radius-packet.js";
import { serverEnv, startServer, type TestServer } from "./servers.js";

export interface FreeradiusOptions {
  /** The users PAP accepts, with their passwords (any UTF-8 but NUL and line breaks). */
  users: ReadonlyArray<{ name: string; password: string }>;
  /** The shared secret of the clients 127.0.0.1 and ::1. */
  secret: string;
}

export interface FreeradiusServer extends TestServer {
  /** The shared secret the server's clients have. */
  readonly secret: string;
  /** FreeRADIUS's version, "3.2.1". */
  readonly version: string;
}

const BINARY = "freeradius";

/** FreeRADIUS's version as `freeradius -v` says it ("3.2.1"), or "" when it cannot be run. */
function freeradiusVersion(): string {
  const v = spawnSync(BINARY, ["-v"], { encoding: "utf8", env: serverEnv() });
  return /FreeRADIUS Version (\d+\.\d+\.\d+)/.exec(`${v.stdout}${v.stderr}`)?.[1] ?? "";
}

/** Whether version `v` ("3.2.1") is at least `major.minor.patch`. */
function atLeast(v: string, min: readonly [number, number, number]): boolean {
  const parts = v.split(".").map(Number);
  for (let i = 0; i < 3; i++) {
    const a = parts[i] ?? 0;
    if (a !== min[i]) return a > min[i]!;
  }
  return true;
}

/** A string in a FreeRADIUS config or users file: double-quoted, `\` and `"` escaped. */
function quoted(s: string): string {
  if (/[\0\r\n]/.test(s)) throw new Error("startFreeradius: NUL and line breaks cannot be written");
  return `"${s.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
}

function radiusdConf(dir: string, port: number, secret: string, version: string): string {
  const limitProxyState = atLeast(version, [3, 2, 5]) ? "\n\t\tlimit_proxy_state = yes" : "";
  const client = (name: string, ipaddr: string) => `client ${name} {
	ipaddr = ${ipaddr}
	secret = ${quoted(secret)}
	require_message_authenticator = yes${limitProxyState}
}`;
  const listen = (ipaddr: string) => `	listen {
		type = auth
		${ipaddr.includes(":") ? "ipv6addr" : "ipaddr"} = ${ipaddr}
		port = ${port}
		# Room for the tests' bursts of requests (256 at once from one client socket).
		recv_buff = 4194304
	}`;
  // Every reply to an Access-Request carries a Message-Authenticator (the server computes it when
  // the attribute is there); 3.2.5 and later add it themselves.
  const signReply = `update reply {
			&Message-Authenticator := 0x00
		}`;
  return `# Written by flowtally's test harness (bench/freeradius.ts); see docs/accounts-radius.md.
prefix = /usr
exec_prefix = /usr
sysconfdir = ${dir}
localstatedir = ${dir}
sbindir = /usr/sbin
logdir = ${dir}
raddbdir = ${dir}
confdir = ${dir}
run_dir = ${dir}
libdir = /usr/lib/freeradius
pidfile = ${join(dir, "radiusd.pid")}
max_request_time = 10
cleanup_delay = 1
max_requests = 4096
hostname_lookups = no
log {
	destination = stdout
	auth = yes
	auth_badpass = no
	auth_goodpass = no
}
security {
	allow_core_dumps = no
	max_attributes = 200
	# An Access-Reject at once: the tests check rejects against timeouts.
	reject_delay = 0
	status_server = no
}
proxy_requests = no
${client("loopback4", "127.0.0.1")}
${client("loopback6", "::1")}
thread pool {
	start_servers = 2
	max_servers = 8
	min_spare_servers = 1
	max_spare_servers = 4
	max_requests_per_server = 0
}
modules {
	pap {
	}
	files {
		filename = ${join(dir, "users")}
	}
}
server default {
${listen("127.0.0.1")}
${listen("::1")}
	authorize {
		files
		pap
	}
	authenticate {
		Auth-Type PAP {
			pap
		}
	}
	post-auth {
		${signReply}
		Post-Auth-Type REJECT {
			${signReply}
		}
	}
}
`;
}

/**
 * Resolves once the server answers an Access-Request for a user it does not know with a reply
 * that passes every check of the client (Response Authenticator, Message-Authenticator).
 */
async function waitForRadius(
  port: number,
  secret: string,
  ms: number,
  exited: () => string | undefined,
): Promise<void> {
  const deadline = Date.now() + ms;
  let last = "no reply";
  for (;;) {
    const why = exited();
    if (why !== undefined) throw new Error(why);
    const authenticator = newAuthenticator();
    const request = encodeAccessRequest({
      id: 1,
      authenticator,
      user: "flowtally-harness-probe",
      password: "not-a-password",
      secret,
    });
    if (!request.ok) throw new Error(`probe not encoded: ${request.reason}`);
    const answer = await new Promise<string | undefined>((resolve) => {
      const socket = createSocket("udp4");
      const done = (v: string | undefined) => {
        clearTimeout(timer);
        socket.close();
        resolve(v);
      };
      const timer = setTimeout(() => done("no reply"), 200);
      socket.once("error", (e) => done(e.message));
      socket.on("message", (m) => {
        const r = decodeReply(m, { id: 1, authenticator }, secret);
        done(r.ok ? undefined : r.reason);
      });
      socket.send(request.packet, port, "127.0.0.1");
    });
    if (answer === undefined) return;
    last = answer;
    if (Date.now() > deadline) {
      throw new Error(`FreeRADIUS on 127.0.0.1:${port} not ready after ${ms} ms (last: ${last})`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * FreeRADIUS with `users` (PAP, Cleartext-Password) for clients 127.0.0.1 and ::1 with `secret`,
 * on a free UDP port of both loopbacks; `close()` stops it and removes its directory.
 */
export async function startFreeradius(options: FreeradiusOptions): Promise<FreeradiusServer> {
  const version = freeradiusVersion();
  const users = options.users
    .map((u) => `${quoted(u.name)} Cleartext-Password := ${quoted(u.password)}\n`)
    .join("");
  const server = await startServer({
    name: "freeradius",
    binary: BINARY,
    debianPackage: "freeradius",
    udp: true,
    async prepare(port, dir) {
      await writeFile(join(dir, "radiusd.conf"), radiusdConf(dir, port, options.secret, version));
      await writeFile(join(dir, "users"), users);
    },
    args: (_port, dir) => ["-f", "-l", "stdout", "-d", dir],
    ready: (port, exited) => waitForRadius(port, options.secret, 20_000, exited),
  });
  return Object.assign(server, { secret: options.secret, version });
}
