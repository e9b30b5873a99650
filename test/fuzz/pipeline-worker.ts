/**
 * The main module of a pipeline fuzz worker thread: runs the segment it is given
 * (test/fuzz/pipeline-fuzz.ts) and posts its stats to the watchdog that started it.
 */
import { parentPort, workerData } from "node:worker_threads";
import { runSegment, type SegmentJob } from "./pipeline-fuzz.js";

await runSegment(workerData as SegmentJob, (m) => parentPort!.postMessage(m));
