/**
 * The levels of the config's classes (threshold and service-level target), versioned as the
 * process sees them: the config at start is in force from then on back (nothing older is known
 * to a running process), each reload from its moment (profiles.ts `withLevel`). A class without
 * a target (its own or `defaultServiceLevelTarget`) has no level: its minutes are no data. Pure.
 */
import type { Config } from "../schema/config.js";
import { type ClassLevel, type LevelHistory, levelAt, withLevel } from "./profiles.js";

/** The config's level of each class id (the default class too), where it has a target. */
export function configLevelMap(
  cfg: Pick<
    Config,
    "classes" | "defaultClass" | "defaultTotalDelayThreshold" | "defaultServiceLevelTarget"
  >,
  fromMs: number,
): Map<string, ClassLevel> {
  const out = new Map<string, ClassLevel>();
  const add = (id: string, thresholdMs: number, target: number | undefined) => {
    if (target !== undefined && !out.has(id))
      out.set(id, { fromMs, thresholdMs, targetPercent: target });
  };
  for (const c of cfg.classes) {
    add(
      c.id,
      c.totalDelayThreshold ?? cfg.defaultTotalDelayThreshold,
      c.serviceLevelTarget ?? cfg.defaultServiceLevelTarget,
    );
  }
  add(cfg.defaultClass, cfg.defaultTotalDelayThreshold, cfg.defaultServiceLevelTarget);
  return out;
}

/** A class with no target from some moment on: a version nobody meets and nobody breaches. */
const NO_TARGET = Number.NaN;

export class ClassLevels {
  private readonly histories = new Map<string, LevelHistory>();
  private started = false;

  /** The config in force from `fromMs` (the first: from the beginning of time). */
  update(cfg: Parameters<typeof configLevelMap>[0], fromMs: number): void {
    const at = this.started ? fromMs : Number.NEGATIVE_INFINITY;
    this.started = true;
    const next = configLevelMap(cfg, at);
    for (const [id, level] of next) {
      this.histories.set(id, withLevel(this.histories.get(id) ?? [], level));
    }
    // A class whose target was removed: no target from now on.
    for (const [id, history] of this.histories) {
      if (next.has(id)) continue;
      const last = history[history.length - 1];
      if (last === undefined || Number.isNaN(last.targetPercent)) continue;
      this.histories.set(
        id,
        withLevel(history, { fromMs: at, thresholdMs: last.thresholdMs, targetPercent: NO_TARGET }),
      );
    }
  }

  /** The level of `trafficClass` at `atMs`, or undefined (no target in force then). */
  at(trafficClass: string, atMs: number): ClassLevel | undefined {
    const history = this.histories.get(trafficClass);
    if (history === undefined) return undefined;
    const level = levelAt(history, atMs);
    return level === undefined || Number.isNaN(level.targetPercent) ? undefined : level;
  }
}
