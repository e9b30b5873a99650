import { appendFileSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { crc32 } from "./crc32.js";
import { decodeFrames, encodeFrame, openWal } from "./wal-log.js";

const bytes = (text: string) => Buffer.from(text);
const texts = (entries: ReadonlyArray<{ payload: Buffer }>) =>
  entries.map((e) => e.payload.toString());

describe("crc32", () => {
  it("matches the standard check value and zlib's results", () => {
    // The CRC-32/ISO-HDLC check value (the CRC of "123456789").
    expect(crc32(bytes("123456789"))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
    // Continuing a CRC gives the CRC of the whole.
    expect(crc32(bytes("56789"), crc32(bytes("1234")))).toBe(0xcbf43926);
  });
});

describe("write-ahead log", () => {
  it("gives back, after a reopen, every entry synced, in order, with growing sequence numbers", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ft-wal-"));
    const wal = await openWal({ dir, maxBytes: 1 << 20 });
    expect(wal.recovered).toEqual([]);
    expect([wal.append(bytes("a")), wal.append(bytes("bb"))]).toEqual([1, 2]);
    await wal.sync();
    expect(wal.append(bytes("ccc"))).toBe(3);
    await wal.close();
    const again = await openWal({ dir, maxBytes: 1 << 20 });
    expect(again.recovered.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(texts(again.recovered)).toEqual(["a", "bb", "ccc"]);
    // New entries continue the numbering, in a new segment.
    expect(again.append(bytes("d"))).toBe(4);
    await again.close();
    expect(readdirSync(dir).sort()).toEqual([
      "wal-0000000000000001.log",
      "wal-0000000000000004.log",
    ]);
  });

  it("starts numbering past what the caller says is applied", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ft-wal-"));
    const wal = await openWal({ dir, maxBytes: 1 << 20, nextSeqAtLeast: 41 });
    expect(wal.append(bytes("x"))).toBe(41);
    await wal.close();
    // Entries below the bound are not the caller's to replay.
    const again = await openWal({ dir, maxBytes: 1 << 20, nextSeqAtLeast: 50 });
    expect(again.recovered).toEqual([]);
    expect(again.append(bytes("y"))).toBe(50);
    await again.close();
  });

  it("reads up to a torn last entry (a crash mid-write) and counts the bytes left", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ft-wal-"));
    const wal = await openWal({ dir, maxBytes: 1 << 20 });
    wal.append(bytes("first"));
    wal.append(bytes("second"));
    await wal.close();
    const [name] = readdirSync(dir);
    const path = join(dir, name!);
    // Half of a third frame, as a crash during the write leaves it.
    const third = encodeFrame(3, bytes("third entry"));
    appendFileSync(path, third.subarray(0, 17));
    const again = await openWal({ dir, maxBytes: 1 << 20 });
    expect(texts(again.recovered)).toEqual(["first", "second"]);
    expect(again.recovery).toEqual({ tornBytes: 17, badSegments: [] });
    // Nothing is appended after the torn frame: the next entry goes to a new segment.
    expect(again.append(bytes("next"))).toBe(3);
    await again.close();
    const third2 = await openWal({ dir, maxBytes: 1 << 20 });
    expect(texts(third2.recovered)).toEqual(["first", "second", "next"]);
    await third2.close();
  });

  it("stops a segment at a corrupted entry (bad checksum) and names it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ft-wal-"));
    const wal = await openWal({ dir, maxBytes: 1 << 20 });
    wal.append(bytes("good"));
    wal.append(bytes("flipped"));
    wal.append(bytes("after"));
    await wal.close();
    const later = await openWal({ dir, maxBytes: 1 << 20 });
    later.append(bytes("later segment"));
    await later.close();
    const first = join(dir, readdirSync(dir).sort()[0]!);
    const b = readFileSync(first);
    // One bit of the second entry's payload: 20-byte header + "good", then its header.
    b[20 + 4 + 20 + 2]! ^= 1;
    writeFileSync(first, b);
    const again = await openWal({ dir, maxBytes: 1 << 20 });
    expect(texts(again.recovered)).toEqual(["good", "later segment"]);
    expect(again.recovery.badSegments).toEqual([first]);
    await again.close();
  });

  it("refuses appends past maxBytes, and takes them again once released", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ft-wal-"));
    // Frames of a 100-byte payload are 120 bytes: three fit in 400.
    const wal = await openWal({ dir, maxBytes: 400, segmentBytes: 200 });
    const payload = Buffer.alloc(100, 1);
    const seqs: Array<number | undefined> = [];
    for (let k = 0; k < 3; k++) {
      seqs.push(wal.append(payload));
      await wal.sync();
    }
    expect(seqs).toEqual([1, 2, 3]);
    expect(wal.append(payload)).toBeUndefined();
    expect(wal.stats.refused).toBe(1);
    // Entries 1 and 2 filled the first segment past 200 bytes; 3 started the second.
    expect(wal.stats.segments).toBe(2);
    await wal.release(2);
    expect([wal.stats.segments, wal.stats.bytes]).toEqual([1, 120]);
    expect(wal.append(payload)).toBe(4);
    await wal.close();
  });

  it("drops the segments whose entries are all released, and keeps the others", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ft-wal-"));
    const wal = await openWal({ dir, maxBytes: 1 << 20, segmentBytes: 1 });
    for (const t of ["a", "b", "c"]) {
      wal.append(bytes(t));
      await wal.sync(); // each sync past 1 byte starts a new segment
    }
    expect(readdirSync(dir)).toHaveLength(3);
    await wal.release(2);
    expect(readdirSync(dir)).toEqual(["wal-0000000000000003.log"]);
    await wal.close();
    const again = await openWal({ dir, maxBytes: 1 << 20 });
    expect(texts(again.recovered)).toEqual(["c"]);
    await again.close();
  });

  it("decodes nothing from bytes that are not frames", () => {
    expect(decodeFrames(Buffer.from("not a write-ahead log at all"))).toEqual({
      entries: [],
      validBytes: 0,
    });
  });
});
