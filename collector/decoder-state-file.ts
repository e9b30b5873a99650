/**
 * The I/O shell around decoder snapshots: templates and sampling rates are written on stop
 * (atomically: a temp file renamed over the old one) and read back on start, so a restart does
 * not lose data until exporters resend their templates.
 */
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  writeFileSync,
} from "node:fs";
import { dirname } from "node:path";
import { FlowtallyError } from "../schema/errors.js";
import type { FlowDecoder } from "./decoders/flow-decoder.js";

export interface RestoredState {
  templates: number;
  rates: number;
  skipped: number;
  /** False when there was no state file yet (a first start). */
  found: boolean;
}

export function loadDecoderState(path: string, decoder: FlowDecoder): RestoredState {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") {
      return { templates: 0, rates: 0, skipped: 0, found: false };
    }
    throw new FlowtallyError("FT_STATE_READ", `${path}: ${(e as Error).message}`, { cause: e });
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new FlowtallyError("FT_STATE_READ", `${path}: not valid JSON (${(e as Error).message})`, {
      cause: e,
    });
  }
  return { ...decoder.restore(data), found: true };
}

export function saveDecoderState(path: string, decoder: FlowDecoder): void {
  saveDecoderStateText(path, `${JSON.stringify(decoder.snapshot())}\n`);
}

/**
 * Writes a state's text durably: a temp file synced to disk, renamed over the old one, and the
 * directory synced, so that after a crash the path holds the old state or the new one, whole.
 */
export function saveDecoderStateText(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    mkdirSync(dirname(path), { recursive: true });
    const fd = openSync(tmp, "w");
    try {
      writeFileSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
    const dir = openSync(dirname(path), "r");
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
  } catch (e) {
    throw new FlowtallyError("FT_STATE_WRITE", `${path}: ${(e as Error).message}`, { cause: e });
  }
}
