/**
 * Templates and learnt sampling rates shared between collectors through Redis, so that a
 * collector behind a UDP load balancer decodes data whose template another collector received.
 *
 * Unit: one (exporter, version, observation domain) of the decoder snapshot (its templates and
 * rates), as canonical JSON in the hash `<prefix>:templates`, announced on the channel of the
 * same name. Each collector publishes the domains whose JSON changed since it last saw them
 * (each tick), and learns the domains others announce (and all of them at start): learning
 * releases the data its decoder held waiting for those templates (decoder.held). Restoring only
 * adds and replaces templates, so two collectors that learnt different templates of one domain
 * converge on the union in two rounds.
 */
import type { Cluster, Redis } from "ioredis";
import type { Logger } from "pino";
import {
  type DecoderSnapshot,
  type DomainSnapshot,
  SNAPSHOT_FORMAT,
  SNAPSHOT_VERSION,
} from "./decoders/snapshot.js";

/** Each domain of a snapshot as canonical JSON (templates and samplers sorted), by key. */
export function domainEntries(snapshot: DecoderSnapshot): Map<string, string> {
  const out = new Map<string, string>();
  for (const e of snapshot.exporters) {
    for (const d of e.domains) {
      // The exporter's boot time is left out: each collector derives its own from the headers,
      // and a millisecond's difference would make two collectors republish for ever.
      const canonical: DomainSnapshot = {
        ...d,
        sysInitMs: null,
        samplers: [...d.samplers].sort((a, b) => a[0] - b[0]),
        templates: [...d.templates].sort((a, b) => a.id - b.id),
      };
      out.set(`${e.address}|${d.version}|${d.id}`, JSON.stringify(canonical));
    }
  }
  return out;
}

/** The snapshot of one shared domain (what `restore` takes); null if the entry is malformed. */
export function snapshotOf(key: string, json: string): DecoderSnapshot | null {
  const address = key.split("|")[0];
  if (address === undefined || address === "") return null;
  let domain: unknown;
  try {
    domain = JSON.parse(json);
  } catch {
    return null;
  }
  return {
    format: SNAPSHOT_FORMAT,
    version: SNAPSHOT_VERSION,
    exporters: [{ address, domains: [domain as DomainSnapshot] }],
  };
}

export interface TemplateSharing {
  readonly stats: { published: number; learnt: number; errors: number };
  /** Publishes the domains that changed since the last call (call each tick). */
  publish(): Promise<void>;
  /** Stops listening (the caller disconnects the subscriber connection). */
  close(): void;
}

export function startTemplateSharing(o: {
  /** For HSET/HGETALL/PUBLISH. */
  redis: Redis | Cluster;
  /** A connection of its own, put in subscriber mode. */
  subscriber: Redis | Cluster;
  prefix: string;
  snapshot(): DecoderSnapshot;
  learn(snapshot: DecoderSnapshot): void;
  log: Logger;
}): TemplateSharing {
  const hash = `${o.prefix}:templates`;
  /** key → the JSON last published or learnt: what Redis holds, as far as we know. */
  const known = new Map<string, string>();
  const stats = { published: 0, learnt: 0, errors: 0 };
  let lastErrorLog = 0;

  const learn = (key: string, json: string | null) => {
    if (json === null || known.get(key) === json) return;
    const snap = snapshotOf(key, json);
    if (snap === null) return;
    known.set(key, json);
    o.learn(snap);
    stats.learnt++;
  };
  const failed = (e: unknown) => {
    stats.errors++;
    if (Date.now() - lastErrorLog < 30_000) return;
    lastErrorLog = Date.now();
    o.log.warn({ err: e }, "templates not shared through Redis (retried)");
  };

  o.subscriber.on("message", (channel: string, key: string) => {
    if (channel !== hash) return;
    o.redis.hget(hash, key).then((json) => learn(key, json), failed);
  });
  // Not awaited: a collector starts (and receives) while Redis is away; the subscriber
  // subscribes once connected (and again after a reconnection), the first publish() loads what
  // the others shared.
  o.subscriber.subscribe(hash).catch(failed);
  let loaded = false;

  let publishing = false;
  return {
    stats,
    async publish() {
      if (publishing) return;
      publishing = true;
      try {
        if (!loaded) {
          for (const [key, json] of Object.entries(await o.redis.hgetall(hash))) learn(key, json);
          loaded = true;
        }
        for (const [key, json] of domainEntries(o.snapshot())) {
          if (known.get(key) === json) continue;
          await o.redis.hset(hash, key, json);
          await o.redis.publish(hash, key);
          known.set(key, json);
          stats.published++;
        }
      } catch (e) {
        failed(e);
      } finally {
        publishing = false;
      }
    },
    close() {
      // Not UNSUBSCRIBE: with Redis away it would wait for ever; the connection is dropped anyway.
      o.subscriber.removeAllListeners("message");
    },
  };
}
