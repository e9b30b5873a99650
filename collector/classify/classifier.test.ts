import { describe, expect, it } from "vitest";
import { parseConfigText } from "../../config/load-config.js";
import { FlowBatch } from "../../schema/flow-record.js";
import { Direction, UNATTRIBUTED } from "../aggregate/partial-sums.js";
import { createAttribution, createClassifier } from "./classifier.js";
import { buildCustomerModel } from "./customer-model.js";

const config = parseConfigText(`
customers:
  - id: acme
    name: ACME
    serviceType: business
    sites:
      - id: hq
        links:
          - id: hq-fiber
            prefixes: [203.0.113.0/24, 2001:db8:10::/48]
            commitRate: 100M
  - id: bob
    name: Bob's shop
    sites:
      - id: shop
        links:
          - id: shop-dsl
            prefixes: [203.0.113.64/29]
  - id: carol
    name: Carol
    sites:
      - id: home
        links:
          - id: home-cable
            router: 192.0.2.1
            ifIndex: 12
classes:
  - id: voip
    match: { protocol: [udp], ports: [5060, "10000-20000"] }
  - id: cdn
    match: { remotePrefixes: [198.51.100.0/24] }
  - id: priority
    match: { dscp: [46] }
defaultClass: other
`);
const model = buildCustomerModel(config);
const classifier = createClassifier(model);
const linkId = (n: number) => (n === UNATTRIBUTED ? "unattributed" : model.links.get(n)!.link);

function flow(f: {
  src: string;
  dst: string;
  proto?: number;
  sport?: number;
  dport?: number;
  dscp?: number;
  inIf?: number;
  outIf?: number;
  exporter?: string;
}) {
  const b = new FlowBatch(4);
  b.exporterNames = [f.exporter ?? "192.0.2.1"];
  const i = b.next();
  const v6 = f.src.includes(":");
  b.ipVersion[i] = v6 ? 6 : 4;
  const put = (text: string, src: boolean) => {
    if (v6) {
      const words = expand6(text);
      (src ? b.src6 : b.dst6).set(words, i * 16);
    } else {
      const n = text.split(".").reduce((a, x) => a * 256 + Number(x), 0);
      if (src) b.src4[i] = n;
      else b.dst4[i] = n;
    }
  };
  put(f.src, true);
  put(f.dst, false);
  b.protocol[i] = f.proto ?? 6;
  b.srcPort[i] = f.sport ?? 443;
  b.dstPort[i] = f.dport ?? 50000;
  b.dscp[i] = f.dscp ?? 0;
  b.inIf[i] = f.inIf ?? 0;
  b.outIf[i] = f.outIf ?? 0;
  const a = createAttribution();
  classifier.classify(b, i, a);
  return Array.from({ length: a.count }, (_, k) => [
    linkId(a.link[k]!),
    a.direction[k] === Direction.In ? "in" : "out",
    model.classIds[a.classIndex[k]!],
  ]);
}

function expand6(text: string): Uint8Array {
  const [head, tail] = text.split("::") as [string, string | undefined];
  const h = head === "" ? [] : head.split(":");
  const t = tail === undefined || tail === "" ? [] : tail.split(":");
  const groups = [...h, ...new Array(8 - h.length - t.length).fill("0"), ...t];
  const out = new Uint8Array(16);
  groups.forEach((g, k) => {
    const v = Number.parseInt(g, 16);
    out[2 * k] = v >> 8;
    out[2 * k + 1] = v & 255;
  });
  return out;
}

describe("classifier", () => {
  it("download to a customer is `in`, upload `out`", () => {
    expect(flow({ src: "8.8.8.8", dst: "203.0.113.9" })).toEqual([["hq-fiber", "in", "other"]]);
    expect(flow({ src: "203.0.113.9", dst: "8.8.8.8" })).toEqual([["hq-fiber", "out", "other"]]);
  });

  it("the longest prefix wins across customers: Bob's /29 inside ACME's /24", () => {
    expect(flow({ src: "8.8.8.8", dst: "203.0.113.66" })).toEqual([["shop-dsl", "in", "other"]]);
    expect(flow({ src: "8.8.8.8", dst: "203.0.113.72" })).toEqual([["hq-fiber", "in", "other"]]);
  });

  it("traffic between two customers counts for both", () => {
    expect(flow({ src: "203.0.113.66", dst: "203.0.113.9" })).toEqual([
      ["hq-fiber", "in", "other"],
      ["shop-dsl", "out", "other"],
    ]);
  });

  it("IPv6 prefixes", () => {
    expect(flow({ src: "2001:db8:10:5::1", dst: "2606:4700::1" })).toEqual([
      ["hq-fiber", "out", "other"],
    ]);
  });

  it("a link without prefixes matches by exporter and interface", () => {
    expect(flow({ src: "8.8.8.8", dst: "100.64.0.5", outIf: 12 })).toEqual([
      ["home-cable", "in", "other"],
    ]);
    expect(flow({ src: "100.64.0.5", dst: "8.8.8.8", inIf: 12 })).toEqual([
      ["home-cable", "out", "other"],
    ]);
    expect(flow({ src: "100.64.0.5", dst: "8.8.8.8", inIf: 12, exporter: "192.0.2.99" })).toEqual([
      ["unattributed", "in", "other"],
    ]);
  });

  it("traffic matching no customer is kept as unattributed", () => {
    expect(flow({ src: "8.8.8.8", dst: "1.1.1.1" })).toEqual([["unattributed", "in", "other"]]);
  });

  it("classes: first match wins; ports on either side; remote prefixes from the customer's side", () => {
    expect(flow({ src: "8.8.8.8", dst: "203.0.113.9", proto: 17, sport: 12000 })).toEqual([
      ["hq-fiber", "in", "voip"],
    ]);
    expect(flow({ src: "203.0.113.9", dst: "8.8.8.8", proto: 17, dport: 5060 })).toEqual([
      ["hq-fiber", "out", "voip"],
    ]);
    expect(flow({ src: "8.8.8.8", dst: "203.0.113.9", proto: 6, sport: 5060 })).toEqual([
      ["hq-fiber", "in", "other"],
    ]);
    expect(flow({ src: "198.51.100.7", dst: "203.0.113.9" })).toEqual([["hq-fiber", "in", "cdn"]]);
    expect(flow({ src: "203.0.113.9", dst: "198.51.100.7" })).toEqual([["hq-fiber", "out", "cdn"]]);
    // Unattributed traffic is classified as seen from its destination: the source is remote.
    expect(flow({ src: "198.51.100.7", dst: "198.51.100.8", dscp: 46 })).toEqual([
      ["unattributed", "in", "cdn"],
    ]);
    expect(flow({ src: "8.8.8.8", dst: "203.0.113.9", dscp: 46 })).toEqual([
      ["hq-fiber", "in", "priority"],
    ]);
  });

  it("the model numbers links across customers and keeps their commit rate", () => {
    expect(model.links.map((l) => [l.customer, l.site, l.link, l.commitRate])).toEqual([
      ["acme", "hq", "hq-fiber", 100e6],
      ["bob", "shop", "shop-dsl", undefined],
      ["carol", "home", "home-cable", undefined],
    ]);
    expect(model.classIds).toEqual(["voip", "cdn", "priority", "other"]);
  });
});
