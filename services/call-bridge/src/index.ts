export { configSchema, loadConfig } from './config.js';
export type { Config } from './config.js';
export { LiveCalls } from './domain/live-calls.js';
export type { DrainResult, LiveCall } from './domain/live-calls.js';
export { PlaybackClock } from './domain/playback-clock.js';
export { CallSession } from './domain/call-session.js';
export type {
  CallSessionDeps,
  RealtimeLeg,
  SessionEvent,
  TwilioLeg,
  TwilioOutbound,
} from './domain/call-session.js';
export { openAIRealtime, sessionConfig } from './adapters/openai-realtime.js';
export type {
  AgentSession,
  OpenRealtime,
  RealtimeConnection,
  RealtimeHandlers,
} from './adapters/openai-realtime.js';
export { callEventPublisher } from './adapters/call-events.js';
export { createBridgeMetrics, type BridgeMetrics } from './metrics.js';
export { mediaStreamRoutes, type MediaStreamOptions } from './routes/media-stream.js';
