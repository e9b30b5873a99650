/**
 * Two look-alike customers for isolation tests (issue 15): the same site and link names, adjacent
 * prefixes, and a unique marker in every field a response could carry (names, descriptions,
 * contact data, the message of the day) and in their traffic (byte counts no other figure has).
 * A test that answers one tenant asserts that none of the other's markers appears anywhere in
 * the answer: body, headers, CSV, errors.
 */
import { v5Packet } from "./export-builder.js";

export interface Tenant {
  id: string;
  /** Every text marker of this tenant (each appears in exactly one of its fields). */
  markers: string[];
  /** Bytes its traffic carries downstream, unique among every figure of the test. */
  bytesIn: number;
  /** The one link's prefix, and an address inside it. */
  prefix: string;
  address: string;
}

function tenant(id: string, tag: string, prefix: string, address: string, bytesIn: number) {
  const m = (field: string) => `${field}-${tag}`;
  const record = {
    id,
    name: m("NAME"),
    serviceType: "business",
    contact: m("CONTACT"),
    email: `noc-${tag.toLowerCase()}@example.net`,
    phone: m("PHONE"),
    address: m("ADDRESS"),
    description: m("DESCRIPTION"),
    motd: m("MOTD"),
  };
  const site = {
    id: "hq",
    name: m("SITENAME"),
    address: m("SITEADDRESS"),
    description: m("SITEDESC"),
  };
  const link = {
    id: "uplink",
    name: m("LINKNAME"),
    description: m("LINKDESC"),
    prefixes: [prefix],
    commitRate: "100M",
  };
  const markers = [
    record.name,
    record.contact,
    record.email,
    record.phone,
    record.address,
    record.description,
    record.motd,
    site.name,
    site.address,
    site.description,
    link.name,
    link.description,
    String(bytesIn),
  ];
  return { tenant: { id, markers, bytesIn, prefix, address } as Tenant, record, site, link };
}

/** Tenant a: 10.77.0.0/25; tenant b: the adjacent 10.77.0.128/25. Markers are unique strings. */
const A = tenant("tenant-a", "Qx7aMARK", "10.77.0.0/25", "10.77.0.9", 7_340_051);
const B = tenant("tenant-b", "Zr4bMARK", "10.77.0.128/25", "10.77.0.137", 9_110_263);

export const TENANT_A: Tenant = A.tenant;
export const TENANT_B: Tenant = B.tenant;

/** The registry change set that adds both (registry.source: database). */
export function lookalikeChangeSet(): unknown[] {
  return [A, B].flatMap(({ record: { id, ...record }, site: { id: siteId, ...site }, link }) => {
    const { id: linkId, ...linkRecord } = link;
    return [
      { op: "add", customer: id, record },
      { op: "add", customer: id, site: siteId, record: site },
      { op: "add", customer: id, site: siteId, link: linkId, record: linkRecord },
    ];
  });
}

/** The same customers as config YAML (registry.source: config), one flow-style line each. */
export function lookalikeConfigYaml(): string {
  const line = ({ record, site, link }: typeof A) =>
    `  - { id: ${record.id}, name: "${record.name}", serviceType: ${record.serviceType}, sites: [{ id: ${site.id}, name: "${site.name}", links: [{ id: ${link.id}, name: "${link.name}", prefixes: [${link.prefixes[0]}], commitRate: ${link.commitRate} }] }] }`;
  return `customers:\n${line(A)}\n${line(B)}\n`;
}

/**
 * One v5 datagram per tenant carrying exactly its `bytesIn` to its address, ending `endMs`
 * (one record; 1 packet per 1000 bytes, rounded up).
 */
export function lookalikeTraffic(endMs: number, sequence = 1): Uint8Array[] {
  return [TENANT_A, TENANT_B].map((t, k) =>
    v5Packet({ sysUptimeMs: 60_000, unixSecs: Math.floor(endMs / 1000), sequence: sequence + k }, [
      {
        src: "192.0.2.50",
        dst: t.address,
        packets: Math.ceil(t.bytesIn / 1000),
        bytes: t.bytesIn,
        firstUptimeMs: 58_000,
        lastUptimeMs: 59_000,
      },
    ]),
  );
}

/** The markers of `other` found in `text` (an answer to the tenant that is not `other`). */
export function leakedMarkers(text: string, other: Tenant): string[] {
  return other.markers.filter((m) => text.includes(m));
}
