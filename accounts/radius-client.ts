/**
 * The RADIUS client (the I/O shell around radius-packet.ts): checks a user's password with
 * Access-Requests (PAP) to the configured servers, in order.
 *
 * Per server: the request is sent, and sent again with the same Identifier and Request
 * Authenticator (RFC 5080 §2.2.1: a retransmission, not a new request) each `timeout` without
 * a verified reply, `retries` times; then the server is held down (skipped for
 * {@link RadiusClientConfig.holdDown}) and the next server gets the request. A server held down
 * is asked again once its hold-down ends, or at once, last and without retries, when every
 * server is held down (else one network blip would lock everyone out for the hold-down).
 *
 * An Access-Accept is "accept"; an Access-Reject "reject", final (the server has answered: no
 * other server is asked); an Access-Challenge "reject" too (no challenge support: a server that
 * asks for a second factor or a new PIN does not get it from us). A reply that does not verify
 * (wrong Response Authenticator or Message-Authenticator, none, another Identifier: a wrong
 * shared secret, a forgery) is dropped and the request goes on waiting; a server that answers
 * only such replies times out: "unavailable".
 *
 * One UDP socket per server, connected to it (the kernel drops datagrams from anyone else),
 * with Identifiers 0 to 255 for its requests in flight: the 257th concurrent request to one
 * server waits for an Identifier, up to {@link RadiusClientConfig.maxWaiting} of them; past that
 * it is "unavailable". Logs never hold a password or a secret; user names only at debug.
 */
import { createSocket, type Socket } from "node:dgram";
import { isIPv6 } from "node:net";
import type { Logger } from "pino";
import {
  decodeReply,
  encodeAccessRequest,
  newAuthenticator,
  type ReplyCode,
  replyIdentifier,
} from "./radius-packet.js";

export interface RadiusServerConfig {
  /** An IP address (v4 or v6). */
  host: string;
  port: number;
  /** The shared secret, resolved (radius-config.ts reads `secretEnv`). */
  secret: string;
}

export interface RadiusClientConfig {
  servers: readonly RadiusServerConfig[];
  /** Milliseconds to wait for a reply before sending again (or giving the server up). */
  timeout: number;
  /** Times a request is sent again to one server before the next one is asked. */
  retries: number;
  /** Milliseconds a server that did not answer is skipped (default 30 s). */
  holdDown?: number;
  /** Requests waiting for an Identifier of one server (default 1024). */
  maxWaiting?: number;
}

export interface RadiusClientDeps {
  log: Logger;
  /** Milliseconds (default Date.now): for the hold-down. */
  now?: () => number;
}

export type RadiusVerdict = "accept" | "reject" | "unavailable";

export interface RadiusClient {
  /** Nothing to do before the first request (sockets are opened when first needed). */
  start(): Promise<void>;
  /** Closes the sockets; requests in flight answer "unavailable", and so do later ones. */
  stop(): Promise<void>;
  authenticate(user: string, password: string): Promise<RadiusVerdict>;
}

/**
 * What one server said to one request: a verified reply, nothing in time, or not asked (`busy`:
 * too many requests waiting for one of its Identifiers; that is not the server's fault, so it
 * is not held down for it).
 */
type ServerAnswer = ReplyCode | "no-answer" | "busy" | "stopped";

interface Pending {
  authenticator: Uint8Array;
  /** Called with a verified reply's code. */
  answer(code: ReplyCode): void;
}

interface ServerState {
  readonly config: RadiusServerConfig;
  /** "127.0.0.1:1812", "[::1]:1812": for logs. */
  readonly label: string;
  socket: Promise<Socket> | undefined;
  /** Identifiers in flight; null: taken, its request not sent yet. */
  readonly pending: Map<number, Pending | null>;
  /** Where the search for a free Identifier starts: round robin, so ids are not reused at once. */
  nextId: number;
  readonly waiting: Array<(id: number | undefined) => void>;
  /** Until when (ms) the server is skipped; 0: it is up. */
  heldDownUntil: number;
  /** Replies dropped since the last warning, and when that was. */
  dropped: number;
  droppedLoggedAt: number;
}

const DEFAULT_HOLD_DOWN_MS = 30_000;
const RECEIVE_BUFFER_BYTES = 1024 * 1024;
const DEFAULT_MAX_WAITING = 1024;
/** A warning about dropped replies at most this often per server (a flood costs one line). */
const DROPPED_LOG_INTERVAL_MS = 60_000;

export function createRadiusClient(
  config: RadiusClientConfig,
  deps: RadiusClientDeps,
): RadiusClient {
  const log = deps.log;
  const now = deps.now ?? Date.now;
  const holdDown = config.holdDown ?? DEFAULT_HOLD_DOWN_MS;
  const maxWaiting = config.maxWaiting ?? DEFAULT_MAX_WAITING;
  const servers: ServerState[] = config.servers.map((s) => ({
    config: s,
    label: isIPv6(s.host) ? `[${s.host}]:${s.port}` : `${s.host}:${s.port}`,
    socket: undefined,
    pending: new Map(),
    nextId: 0,
    waiting: [],
    heldDownUntil: 0,
    dropped: 0,
    droppedLoggedAt: Number.NEGATIVE_INFINITY,
  }));
  let stopped = false;
  /** What stop() ends: the timers of the attempts in flight. */
  const inFlight = new Set<() => void>();

  function openSocket(server: ServerState): Promise<Socket> {
    server.socket ??= new Promise<Socket>((resolve, reject) => {
      const { host, port } = server.config;
      const socket = createSocket({
        type: isIPv6(host) ? "udp6" : "udp4",
        // Room for the replies to 256 requests in flight arriving at once (the kernel doubles it
        // and caps it at net.core.rmem_max).
        recvBufferSize: RECEIVE_BUFFER_BYTES,
      });
      const failed = (e: Error) => {
        socket.close();
        server.socket = undefined;
        reject(e);
      };
      socket.once("error", failed);
      socket.connect(port, host, () => {
        socket.off("error", failed);
        // An ICMP "port unreachable" comes back as an error on a connected socket: the request
        // then times out as if nothing had answered.
        socket.on("error", (e: NodeJS.ErrnoException) => {
          log.debug({ server: server.label, code: e.code }, "radius socket error");
        });
        socket.on("message", (m) => onReply(server, m));
        socket.unref();
        resolve(socket);
      });
    });
    return server.socket;
  }

  function onReply(server: ServerState, datagram: Buffer): void {
    const id = replyIdentifier(datagram);
    const pending = id === undefined ? undefined : server.pending.get(id);
    if (pending === undefined || pending === null) {
      // Most often a second answer to a request sent again, which was answered already.
      log.debug({ server: server.label, id }, "radius reply to no request in flight dropped");
      return;
    }
    const reply = decodeReply(
      datagram,
      { id: datagram[1]!, authenticator: pending.authenticator },
      server.config.secret,
    );
    if (!reply.ok) {
      dropped(server, reply.reason);
      return;
    }
    pending.answer(reply.code);
  }

  /** A reply not believed: counted, and a warning now and then (it may be a wrong secret). */
  function dropped(server: ServerState, reason: string): void {
    server.dropped++;
    log.debug({ server: server.label, reason }, "radius reply dropped");
    const t = now();
    if (t - server.droppedLoggedAt >= DROPPED_LOG_INTERVAL_MS) {
      log.warn(
        { server: server.label, dropped: server.dropped, reason },
        "radius replies dropped: they do not verify (a wrong shared secret, a server that sends no Message-Authenticator, or forged)",
      );
      server.dropped = 0;
      server.droppedLoggedAt = t;
    }
  }

  /** A free Identifier of the server, waiting for one when all 256 are in flight. */
  function takeId(server: ServerState): Promise<number | undefined> {
    for (let k = 0; k < 256; k++) {
      const id = (server.nextId + k) & 0xff;
      if (!server.pending.has(id)) {
        server.nextId = (id + 1) & 0xff;
        reserve(server, id);
        return Promise.resolve(id);
      }
    }
    if (server.waiting.length >= maxWaiting) return Promise.resolve(undefined);
    return new Promise((resolve) => server.waiting.push(resolve));
  }

  function releaseId(server: ServerState, id: number): void {
    server.pending.delete(id);
    const next = server.waiting.shift();
    // The freed Identifier goes to the first waiting request (reserved for it at once).
    if (next !== undefined) {
      if (stopped) next(undefined);
      else {
        reserve(server, id);
        next(id);
      }
    }
  }

  /**
   * Marks an Identifier as taken, at once (the request that takes it registers itself only after
   * an await, and another request must not take it meanwhile).
   */
  function reserve(server: ServerState, id: number): void {
    server.pending.set(id, null);
  }

  /** Sends the request to one server, `attempts` times at most, each waiting `timeout`. */
  async function ask(
    server: ServerState,
    user: string,
    password: string,
    attempts: number,
  ): Promise<ServerAnswer> {
    let socket: Socket;
    try {
      socket = await openSocket(server);
    } catch (e) {
      log.warn(
        { server: server.label, code: (e as NodeJS.ErrnoException).code },
        "radius socket could not be opened",
      );
      return "no-answer";
    }
    const id = await takeId(server);
    if (stopped) {
      if (id !== undefined) releaseId(server, id);
      return "stopped";
    }
    if (id === undefined) {
      log.warn({ server: server.label }, "radius: too many requests waiting for this server");
      return "busy";
    }
    try {
      const authenticator = newAuthenticator();
      const encoded = encodeAccessRequest({
        id,
        authenticator,
        user,
        password,
        secret: server.config.secret,
      });
      if (!encoded.ok) {
        // Checked before (authenticate); a config problem such as an empty secret.
        log.error({ server: server.label, reason: encoded.reason }, "radius request not encoded");
        return "no-answer";
      }
      for (let attempt = 0; attempt < attempts; attempt++) {
        const answer = await new Promise<ServerAnswer>((resolve) => {
          const finish = (a: ServerAnswer) => {
            clearTimeout(timer);
            inFlight.delete(cancel);
            resolve(a);
          };
          const cancel = () => finish("stopped");
          const timer = setTimeout(() => finish("no-answer"), config.timeout);
          inFlight.add(cancel);
          server.pending.set(id, { authenticator, answer: finish });
          socket.send(encoded.packet, (e) => {
            if (e)
              log.debug(
                { server: server.label, code: (e as NodeJS.ErrnoException).code },
                "radius send failed",
              );
          });
        });
        if (answer !== "no-answer") return answer;
        if (attempt + 1 < attempts) log.debug({ server: server.label, attempt }, "radius retry");
      }
      return "no-answer";
    } finally {
      releaseId(server, id);
    }
  }

  /** Servers up (in config order), then those held down (soonest back first). */
  function order(t: number): Array<{ server: ServerState; attempts: number }> {
    const up = servers.filter((s) => s.heldDownUntil <= t);
    const down = servers
      .filter((s) => s.heldDownUntil > t)
      .sort((a, b) => a.heldDownUntil - b.heldDownUntil);
    return [
      ...up.map((server) => ({ server, attempts: config.retries + 1 })),
      ...down.map((server) => ({ server, attempts: 1 })),
    ];
  }

  return {
    async start() {},

    async stop() {
      stopped = true;
      for (const cancel of [...inFlight]) cancel();
      for (const s of servers) {
        for (const w of s.waiting.splice(0)) w(undefined);
        const socket = s.socket;
        s.socket = undefined;
        if (socket !== undefined) {
          await socket.then(
            (sock) => new Promise<void>((r) => sock.close(() => r())),
            () => {},
          );
        }
      }
    },

    async authenticate(user, password) {
      if (stopped || servers.length === 0) return "unavailable";
      // What cannot be sent cannot be right: an empty or over-long name or password.
      const check = encodeAccessRequest({
        id: 0,
        authenticator: new Uint8Array(16),
        user,
        password,
        secret: "-",
      });
      if (!check.ok) {
        log.debug({ reason: check.reason }, "radius: refused without asking");
        return "reject";
      }
      for (const { server, attempts } of order(now())) {
        const answer = await ask(server, user, password, attempts);
        if (answer === "stopped") return "unavailable";
        if (answer === "busy") continue;
        if (answer === "no-answer") {
          if (server.heldDownUntil <= now()) {
            log.warn(
              { server: server.label, holdDownMs: holdDown },
              "radius server did not answer: held down",
            );
          }
          server.heldDownUntil = now() + holdDown;
          continue;
        }
        if (server.heldDownUntil !== 0) {
          log.info({ server: server.label }, "radius server answers again");
          server.heldDownUntil = 0;
        }
        if (answer === "challenge") {
          log.info(
            { server: server.label },
            "radius: Access-Challenge taken as a reject (challenges are not supported)",
          );
          return "reject";
        }
        log.debug({ server: server.label, user, answer }, "radius answer");
        return answer;
      }
      log.warn("radius: no server answered");
      return "unavailable";
    },
  };
}
