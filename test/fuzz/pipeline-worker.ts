/**
 * The main module of a pipeline fuzz worker thread: runs the segment it is given
 * (test/fuzz/pipeline-fuzz.ts) and posts its stats to the watchdog that started it.
 */
import { parentPort, workerData } from "node:worker_threads";
import { runSegment } from "./pipeline-fuzz.js";
import type { SegmentJob } from "./pipeline-stats.js";

await runSegment(workerData as SegmentJob, (m) => parentPort!.postMessage(m));
