export { configSchema, loadConfig } from './config.js';
export type { Config } from './config.js';
export { startHandoff, DEFAULT_HANDOFF_SETTINGS } from './handoff.js';
export type { HandoffDeps, HandoffSettings, RunningHandoff } from './handoff.js';
export { createHandoffMetrics, type HandoffMetrics } from './metrics.js';
export { twilioVoice, type TwilioVoice } from './adapters/twilio-voice.js';
export { signWebhook, SIGNATURE_HEADER, TIMESTAMP_HEADER } from './adapters/notifier.js';
