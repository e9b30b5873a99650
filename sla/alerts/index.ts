export {
  type AlertBody,
  alertBody,
  DELIVERY_HEADER,
  deliveryId,
  EVENT_HEADER,
  SIGNATURE_HEADER,
  signature,
  TIMESTAMP_HEADER,
  verifySignature,
} from "./alert-body.js";
export {
  createSlaAlerts,
  emptySlaAlertsState,
  SLA_ALERTS_STOP_GRACE_MS,
  type SlaAlerts,
  type SlaAlertsDeps,
  type SlaAlertsState,
} from "./sla-alerts.js";
export {
  createWebhookSender,
  type Delivery,
  type DeliveryView,
  inScope,
  retryDelay,
  type WebhookCounters,
  type WebhookSender,
  type WebhookSenderDeps,
  type WebhookState,
} from "./webhook-sender.js";
