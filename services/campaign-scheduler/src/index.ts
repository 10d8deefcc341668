export { configSchema, loadConfig } from './config.js';
export type { Config } from './config.js';
export { DEFAULT_CAMPAIGN_RUNNER_SETTINGS, startScheduler } from './scheduler.js';
export type {
  CampaignRunnerSettings,
  DialerSettings,
  RunningScheduler,
  SchedulerDeps,
} from './scheduler.js';
export { twilioDialer } from './adapters/twilio-dialer.js';
export type { TwilioDialer, TwilioDialerConfig } from './adapters/twilio-dialer.js';
export { CallRequestStore } from './adapters/call-request-store.js';
export type { ClaimedRequest, ClaimOutcome } from './adapters/call-request-store.js';
export { attemptCallId } from './domain/attempts.js';
export { contactRequestKey } from './adapters/campaign-store.js';
