import { describe, expect, it } from "vitest";
import { FlowtallyError } from "../schema/errors.js";
import { runQueryCommand } from "./query-command.js";
import {
  type OverviewAnswer,
  overviewOutput,
  type ResponseTimesAnswer,
  responseTimesOutput,
  trafficOutput,
} from "./query-output.js";

const point = (time: string, bytesIn: number, peakOver = "1m", complete = true) => ({
  time,
  complete,
  bytesIn,
  bytesOut: 0,
  packetsIn: 3,
  packetsOut: 0,
  bpsIn: (bytesIn * 8) / 300,
  bpsOut: 0,
  peakBpsIn: (bytesIn * 8) / 60,
  peakBpsOut: 0,
  peakOver,
});

const traffic = {
  customer: "acme",
  step: "5m",
  from: "2026-11-22T10:00:00Z",
  to: "2026-11-22T10:10:00Z",
  completeUntil: "2026-11-22T10:05:00Z",
  points: [
    point("2026-11-22T10:00:00Z", 45_000, "5m"),
    point("2026-11-22T10:05:00Z", 1_000, "1m", false),
  ],
  p95BpsIn: null,
  p95BpsOut: null,
};

describe("trafficOutput", () => {
  it("table: human units, a peak-over column when some peak is not over minutes, the p95, a mark on periods not complete", () => {
    expect(trafficOutput(traffic, "table").split("\n")).toEqual([
      "acme: from 2026-11-22T10:00:00Z to 2026-11-22T10:10:00Z, step 5m",
      "time                    bytes in  bytes out  packets in  packets out       avg in  avg out      peak in  peak out  peak over",
      "2026-11-22T10:00:00Z     45.0 kB        0 B           3            0  1.20 kbit/s  0 bit/s  6.00 kbit/s   0 bit/s         5m",
      "2026-11-22T10:05:00Z *   1.00 kB        0 B           3            0   26.7 bit/s  0 bit/s    133 bit/s   0 bit/s         1m",
      "95th percentile of the 5-minute rates: in -, out -",
      "* not complete: periods ending after 2026-11-22T10:05:00Z may still grow",
      "",
    ]);
    const minutes = { ...traffic, points: [traffic.points[1]!], p95BpsIn: 26.67, p95BpsOut: 0 };
    const table = trafficOutput(minutes, "table");
    expect(table).not.toContain("peak over");
    expect(table).toContain("in 26.7 bit/s, out 0 bit/s\n");
  });

  it("csv: exact numbers, one line per point; json: the answer", () => {
    expect(trafficOutput(traffic, "csv").split("\r\n")[2]).toBe(
      `2026-11-22T10:05:00Z,1000,0,3,0,${8000 / 300},0,${8000 / 60},0,1m,false`,
    );
    expect(JSON.parse(trafficOutput(traffic, "json"))).toEqual(traffic);
  });
});

describe("responseTimesOutput", () => {
  const none = {
    transactions: 0,
    goodTransactions: 0,
    goodRatio: null,
    estimated: 0,
    retransmissions: 0,
    meanNetworkDelayMs: null,
    meanServerDelayMs: null,
    meanTotalDelayMs: null,
    totalDelayP50Ms: null,
    totalDelayP95Ms: null,
    totalDelayP99Ms: null,
  };
  const some = {
    transactions: 4,
    goodTransactions: 3,
    goodRatio: 0.75,
    estimated: 1,
    retransmissions: 2,
    meanNetworkDelayMs: 2,
    meanServerDelayMs: 10.25,
    meanTotalDelayMs: 25,
    totalDelayP50Ms: 20.1,
    totalDelayP95Ms: 1_500,
    totalDelayP99Ms: 1_500,
  };
  const answer: ResponseTimesAnswer = {
    customer: "acme",
    step: "1h",
    from: "2026-11-22T10:00:00Z",
    to: "2026-11-22T12:00:00Z",
    completeUntil: "2026-11-22T12:00:00Z",
    points: [
      { time: "2026-11-22T10:00:00Z", complete: true, ...some },
      { time: "2026-11-22T11:00:00Z", complete: true, ...none },
    ],
    ...some,
  };

  it("table: delays in ms or s, '-' for what nothing measured, the whole range last", () => {
    const lines = responseTimesOutput(answer, "table").split("\n");
    expect(lines[2]).toBe(
      "2026-11-22T10:00:00Z             4  75.0 %                2  2.00 ms  10.3 ms  25.0 ms    20.1 ms     1.50 s     1.50 s",
    );
    expect(lines[3]).toBe(
      "2026-11-22T11:00:00Z             0       -                0        -        -        -          -          -          -",
    );
    expect(lines[4]).toMatch(/^whole range +4 +75\.0 %/);
  });

  it("csv: the API's field names, an empty cell for null", () => {
    const lines = responseTimesOutput(answer, "csv").split("\r\n");
    expect(lines[0]).toBe(
      "time,transactions,goodTransactions,goodRatio,estimated,retransmissions,meanNetworkDelayMs,meanServerDelayMs,meanTotalDelayMs,totalDelayP50Ms,totalDelayP95Ms,totalDelayP99Ms,complete",
    );
    expect(lines[1]).toBe("2026-11-22T10:00:00Z,4,3,0.75,1,2,2,10.25,25,20.1,1500,1500,true");
    expect(lines[2]).toBe("2026-11-22T11:00:00Z,0,0,,0,0,,,,,,,true");
  });
});

describe("overviewOutput", () => {
  const answer = {
    from: "2026-11-01T00:00:00Z",
    to: "2026-11-02T00:00:00Z",
    complete: true,
    completeUntil: "2026-11-02T00:00:00Z",
    rows: [
      {
        customer: "acme",
        name: "Acme, Inc.",
        serviceType: "business",
        bytesIn: 86_400,
        bytesOut: 0,
        packetsIn: 1,
        packetsOut: 0,
        flows: 1,
        bpsIn: 8,
        bpsOut: 0,
      },
    ],
  } as unknown as OverviewAnswer;

  it("csv with columns: those columns in their order, quoted where a cell needs it", () => {
    expect(overviewOutput(answer, "csv", ["bpsIn", "name"])).toBe(
      'bpsIn,name\r\n8,"Acme, Inc."\r\n',
    );
  });

  it("--fields is refused before anything is asked: with another format, an unknown or repeated column", async () => {
    const ask = (format: "csv" | "table", fields: string) =>
      runQueryCommand("overview", undefined, {
        api: "http://127.0.0.1:9",
        from: "2026-11-01",
        format,
        fields,
      });
    await expect(ask("table", "customer")).rejects.toThrow(
      /--fields chooses the columns of --format csv/,
    );
    await expect(ask("csv", "customer,bogus")).rejects.toThrow(
      /--fields: "bogus" is not a column; expected some of customer, name/,
    );
    await expect(ask("csv", "customer,customer")).rejects.toThrow(
      /--fields: customer is given more than once/,
    );
    await expect(ask("csv", "nope")).rejects.toBeInstanceOf(FlowtallyError);
  });
});
