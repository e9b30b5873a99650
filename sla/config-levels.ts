/**
 * The SLA level each class has under a config: its `totalDelayThreshold` (or
 * `defaultTotalDelayThreshold`) and its `serviceLevelTarget` (or `defaultServiceLevelTarget`);
 * a class with neither target has no SLA. What the store writes into each minute's SLA row when
 * it first measures it (sla/series.ts), so that a change applies from that moment on. Pure.
 */
import type { Config } from "../schema/config.js";

/** A class's level now: threshold (ms) and target (percent). */
export interface CurrentLevel {
  readonly thresholdMs: number;
  readonly targetPercent: number;
}

/** The level of a class id (undefined: no SLA), for every class the config names, default included. */
export type LevelLookup = (trafficClass: string) => CurrentLevel | undefined;

export function configLevels(
  cfg: Pick<
    Config,
    "classes" | "defaultClass" | "defaultTotalDelayThreshold" | "defaultServiceLevelTarget"
  >,
): LevelLookup {
  const levels = new Map<string, CurrentLevel>();
  for (const c of cfg.classes) {
    const target = c.serviceLevelTarget ?? cfg.defaultServiceLevelTarget;
    if (target === undefined || levels.has(c.id)) continue;
    levels.set(c.id, {
      thresholdMs: c.totalDelayThreshold ?? cfg.defaultTotalDelayThreshold,
      targetPercent: target,
    });
  }
  if (!levels.has(cfg.defaultClass) && cfg.defaultServiceLevelTarget !== undefined) {
    levels.set(cfg.defaultClass, {
      thresholdMs: cfg.defaultTotalDelayThreshold,
      targetPercent: cfg.defaultServiceLevelTarget,
    });
  }
  return (trafficClass) => levels.get(trafficClass);
}
