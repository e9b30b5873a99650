export {
  billingPeriod,
  billSamples,
  type CommitCompliance,
  commitCompliance,
  type MonthProjection,
  type PercentileOf,
  projectPeriod,
  WINDOW_MS,
  type WindowBytes,
} from "./commit-rate.js";
export {
  addMinute,
  addSums,
  compliantShare,
  emptySums,
  goodShare,
  type Incident,
  incidents,
  judgeMinute,
  type MinuteVerdict,
  type SlaMinute,
  type SlaSums,
} from "./compliance.js";
export {
  type ClassLevel,
  type LevelHistory,
  levelAt,
  levelPeriods,
  withLevel,
} from "./profiles.js";
export { type ClassMinuteCounts, type ClassReport, classReport } from "./report.js";
