export type { Attribution, Classifier } from "./classifier.js";
export { createAttribution, createClassifier } from "./classifier.js";
export type { ClassRule, CustomerInfo, CustomerModel, LinkInfo } from "./customer-model.js";
export { buildCustomerModel } from "./customer-model.js";
export type { CustomerChange } from "./customer-model-update.js";
export { CustomerModelUpdater } from "./customer-model-update.js";
export type { LinkPrefixes, LinkPrefixProblem } from "./link-prefixes.js";
export { linkPrefixes } from "./link-prefixes.js";
export { LayeredPrefixTable } from "./prefix-overlay.js";
export type {
  Prefix,
  PrefixConflict,
  PrefixError,
  PrefixLookup,
  PrefixTableStats,
} from "./prefix-table.js";
export {
  NO_MATCH,
  PrefixTable,
  PrefixTableBuilder,
  parseAddress,
  parsePrefix,
} from "./prefix-table.js";
