export { configSchema, loadConfig } from './config.js';
export type { Config } from './config.js';
export { startScheduler } from './scheduler.js';
export type { DialerSettings, RunningScheduler, SchedulerDeps } from './scheduler.js';
export { twilioDialer } from './adapters/twilio-dialer.js';
export type { TwilioDialer, TwilioDialerConfig } from './adapters/twilio-dialer.js';
export { CallRequestStore } from './adapters/call-request-store.js';
export type { ClaimedRequest, ClaimOutcome } from './adapters/call-request-store.js';
export { attemptCallId } from './domain/attempts.js';
