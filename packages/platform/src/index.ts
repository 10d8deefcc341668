export {
  AppError,
  ConfigError,
  ProviderError,
  SystemError,
  UserError,
  type AppErrorOptions,
  type ConfigIssue,
  type ProviderErrorOptions,
} from './errors.js';
export {
  baseServiceEnv,
  boolEnv,
  listEnv,
  type ListEnvOptions,
  formatConfigError,
  intEnv,
  requireTwilioCredentialPair,
  twilioRestEnv,
  isSecretVariable,
  splitNatsUrlCredentials,
  LOG_LEVELS,
  logLevelEnv,
  parseConfig,
  port,
  redactConfig,
  type BaseServiceConfig,
  type BaseServiceEnvOptions,
  type IntEnvOptions,
} from './config.js';
export {
  callLogger,
  createLogger,
  maskPhone,
  REDACTED,
  type CallLogBindings,
  type CreateLoggerOptions,
  type Logger,
} from './logger.js';
export {
  extractTraceContext,
  injectTraceHeaders,
  startTelemetry,
  type Telemetry,
  type TelemetryOptions,
} from './telemetry.js';
export {
  contextFromTraceparent,
  contextWithSpan,
  failSpan,
  serviceSpans,
  SpanKind,
  SpanStatusCode,
  traceparentOf,
  type Attributes,
  type Context,
  type ServiceSpans,
  type Span,
  type SpanOptions,
} from './spans.js';
export {
  connectNats,
  natsHealthCheck,
  provisionJetStream,
  type ConnectNatsOptions,
  type NatsHealthCheckOptions,
  type ProvisionAction,
  type ProvisionResult,
} from './nats.js';
export {
  checkReadiness,
  createMetricsRegistry,
  registerHealthRoutes,
  type CheckReport,
  type CheckResult,
  type HealthCheck,
  type HealthRoutesOptions,
  type MetricsRegistryOptions,
  type ReadinessReport,
} from './health.js';
export {
  disabledErrorTracking,
  scrubEvent,
  startErrorTracking,
  type CaptureContext,
  type ErrorTracking,
  type ErrorTrackingOptions,
} from './error-tracking.js';
export { registerNatsMetrics, registerPoolMetrics, type PoolStats } from './platform-metrics.js';
export {
  registerConsumerLagMetrics,
  type ConsumerLagOptions,
  type DurableConsumerRef,
} from './consumer-lag-metrics.js';
export {
  installShutdown,
  type InstallShutdownOptions,
  type ShutdownHandle,
  type ShutdownStep,
} from './shutdown.js';

export type { Capacity } from './health.js';
export { readPackageVersion } from './package-version.js';
export {
  loadConfigOrExit,
  runService,
  type RunningService,
  type ServiceContext,
  type ServiceDefinition,
} from './service-runtime.js';
export {
  DEV_STREAM_TOKEN_SECRET,
  refuseDevStreamTokenSecret,
  signStreamToken,
  streamTokenSecretEnv,
  verifyStreamToken,
  type StreamTokenClaims,
  type StreamTokenFailure,
} from './stream-token.js';
export { staleIfError, type StaleIfErrorOptions } from './stale-if-error.js';
