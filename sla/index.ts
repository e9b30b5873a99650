export {
  type BillingProfile,
  billRate,
  configProfiles,
  customerProfile,
  linkRate,
  type ProfileHistory,
  type ProfileVersion,
  profileAt,
  profileHistory,
  profilePeriods,
  profileText,
  rateSteps,
} from "./billing-profile.js";
export { ClassLevels, configLevelMap } from "./class-levels.js";
export {
  type ClassMinuteCount,
  ClassMinuteSums,
  type ClassMinuteSumsStats,
  type ResponseMinuteRow,
} from "./class-minute-sums.js";
export {
  billingPeriod,
  billSamples,
  type CommitCompliance,
  commitCompliance,
  type MonthProjection,
  type PercentileOf,
  projectPeriod,
  proratedRate,
  type RateStep,
  WINDOW_MS,
  type WindowBytes,
  windowsAboveSteps,
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
export { type CurrentLevel, configLevels, type LevelLookup } from "./config-levels.js";
export {
  type ClassMinute,
  type EndReason,
  type IncidentEvent,
  IncidentTracker,
  incidentId,
  type LiveIncident,
  type TrackerState,
  type TrackerStats,
} from "./incident-tracker.js";
export {
  type ClassLevel,
  type LevelHistory,
  levelAt,
  levelPeriods,
  withLevel,
} from "./profiles.js";
export { type ClassMinuteCounts, type ClassReport, classReport } from "./report.js";
