export { configSchema, loadConfig } from './config.js';
export type { Config } from './config.js';
export { LiveCalls } from './domain/live-calls.js';
export type { DrainResult, LiveCall } from './domain/live-calls.js';
export { PlaybackClock } from './domain/playback-clock.js';
export { CallSession } from './domain/call-session.js';
export type {
  CallSessionDeps,
  RecoveryPolicy,
  SessionEvent,
  SessionObserver,
  TwilioLeg,
  TwilioOutbound,
} from './domain/call-session.js';
export type {
  HistoryItem,
  ProviderError,
  RealtimeHandlers,
  RealtimeLeg,
} from './domain/realtime-leg.js';
export { openAIRealtime, sessionConfig, historyEvents } from './adapters/openai-realtime.js';
export type {
  AgentSession,
  FunctionTool,
  OpenRealtime,
  RealtimeConnection,
} from './adapters/openai-realtime.js';
export { agentSessionLoader } from './adapters/agent-sessions.js';
export { twilioCalls, apologyTwiml, type TwilioCalls } from './adapters/twilio-calls.js';
export { callEventPublisher } from './adapters/call-events.js';
export { createBridgeMetrics, metricsObserver, type BridgeMetrics } from './metrics.js';
export { mediaStreamRoutes, type MediaStreamOptions } from './routes/media-stream.js';
