/**
 * `inputs.netflow[].allowedExporters` / `inputs.sflow[].allowedExporters`: which source addresses
 * a UDP input takes datagrams from. Anyone who can send one UDP datagram to an open collector port
 * can otherwise add bytes to any customer, so a datagram from elsewhere is dropped before it is
 * decoded and counted per source. Pure: the input shell asks `allows(address)` per datagram.
 *
 * Decisions are cached per address text (exporters are few and send many datagrams); the cache
 * and the per-source counts are bounded, so a flood from spoofed addresses cannot grow memory.
 */
import { formatPrefix, PrefixTableBuilder, parsePrefix } from "./classify/prefix-table.js";

/** Sources counted by address; past this many, the rest are counted as "other". */
export const MAX_COUNTED_SOURCES = 1024;
const MAX_CACHED = 4096;

export interface ExporterAllowlist {
  /** True when datagrams from `address` (IPv4 dotted or IPv6 text) are taken. */
  allows(address: string): boolean;
  /** Datagrams dropped, in all. */
  readonly dropped: number;
  /** Dropped datagrams per source address (at most MAX_COUNTED_SOURCES, then "other"). */
  droppedBySource(): Record<string, number>;
  /** The prefixes, canonical ("192.0.2.0/24"); empty when every source is taken. */
  readonly prefixes: readonly string[];
}

/**
 * Parses one allowlist entry: a prefix ("192.0.2.0/24", "2001:db8::/32") or a bare address (a
 * /32 or /128). Host bits set are an error, as for customer prefixes.
 */
export function parseExporterPrefix(text: string): { prefix: string } | { error: string } {
  const p = parsePrefix(text);
  if ("error" in p) return { error: p.error };
  return { prefix: formatPrefix(p) };
}

/** An allowlist of `prefixes` (already validated), or one that takes everything when undefined. */
export function createExporterAllowlist(
  prefixes: readonly string[] | undefined,
): ExporterAllowlist {
  if (prefixes === undefined) {
    return {
      allows: () => true,
      dropped: 0,
      droppedBySource: () => ({}),
      prefixes: [],
    };
  }
  const builder = new PrefixTableBuilder();
  for (const text of prefixes) builder.add(text, 0);
  const table = builder.build();
  const cache = new Map<string, boolean>();
  const bySource = new Map<string, number>();
  const counts = { dropped: 0, other: 0 };

  function decide(address: string): boolean {
    try {
      return table.lookup(address) >= 0;
    } catch {
      // Not an address we can parse (a zone id, say): not an allowed exporter.
      return false;
    }
  }

  const allowlist: ExporterAllowlist = {
    allows(address) {
      let ok = cache.get(address);
      if (ok === undefined) {
        ok = decide(address);
        if (cache.size >= MAX_CACHED) cache.clear();
        cache.set(address, ok);
      }
      if (ok) return true;
      counts.dropped++;
      const n = bySource.get(address);
      if (n !== undefined) bySource.set(address, n + 1);
      else if (bySource.size < MAX_COUNTED_SOURCES) bySource.set(address, 1);
      else counts.other++;
      return false;
    },
    dropped: 0,
    droppedBySource() {
      const out = Object.fromEntries(bySource);
      if (counts.other > 0) out.other = counts.other;
      return out;
    },
    prefixes: prefixes.map((p) => {
      const parsed = parseExporterPrefix(p);
      return "prefix" in parsed ? parsed.prefix : p;
    }),
  };
  Object.defineProperty(allowlist, "dropped", { get: () => counts.dropped, enumerable: true });
  return allowlist;
}
