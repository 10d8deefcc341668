// Test helpers for code that talks to the simulators (STYLE.md 6.1: fakes ship from ./testing).
export { RealtimeTestClient, silencePcm, taggedUtterance } from './openai/testing.js';
export type { ServerEvent } from './openai/testing.js';
export { startWebhookReceiver } from './twilio/testing.js';
export type { ReceivedWebhook, WebhookAnswer, WebhookReceiver } from './twilio/testing.js';
