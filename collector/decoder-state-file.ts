/**
 * The I/O shell around decoder snapshots: templates and sampling rates are written on stop
 * (atomically: a temp file renamed over the old one) and read back on start, so a restart does
 * not lose data until exporters resend their templates.
 */
import { readFileSync } from "node:fs";
import { FlowtallyError } from "../schema/errors.js";
import { writeFileDurably } from "../wal/durable-file.js";
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

/** Writes a state's text durably (wal/durable-file.ts): the old state or the new one, whole. */
export function saveDecoderStateText(path: string, text: string): void {
  try {
    writeFileDurably(path, text);
  } catch (e) {
    throw new FlowtallyError("FT_STATE_WRITE", `${path}: ${(e as Error).message}`, { cause: e });
  }
}
