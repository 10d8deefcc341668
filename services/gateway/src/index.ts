export { configSchema, loadConfig } from './config.js';
export type { Config } from './config.js';
export { PrismaCallRecordStore } from './adapters/call-record-store.js';
export type { ApplyResult, CallRecordStore } from './adapters/call-record-store.js';
export {
  ensureCallRecordConsumer,
  startCallRecordProjector,
} from './handlers/call-record-projector.js';
export { statusForEndReason, transcriptRole } from './domain/call-record.js';
export {
  PrismaCallDirectory,
  type CallBySid,
  type CallDirectory,
} from './adapters/call-directory.js';
export { twilioWebhookRoutes, type TwilioWebhookOptions } from './routes/twilio-webhooks.js';
export { bridgeOwnsEnd, endReasonForStatus } from './domain/twilio-status.js';
