/**
 * What the deployment manifests may set for each service: the one list the deploy tests check
 * docker-compose.yml and every Kustomize overlay against. When a service starts reading a new
 * variable, add it here (and to its config schema) before setting it in a manifest.
 */

/** The five services (folder names under services/) and the HTTP port each listens on. */
export const SERVICE_PORTS = {
  gateway: 3000,
  'call-bridge': 3001,
  'campaign-scheduler': 3002,
  'tool-runner': 3003,
  handoff: 3004,
} as const;

export type ServiceName = keyof typeof SERVICE_PORTS;

export const SERVICE_NAMES = Object.keys(SERVICE_PORTS) as ServiceName[];

/** Variables every service reads (packages/platform `baseServiceEnv`). */
export const COMMON_ENV = [
  'NODE_ENV',
  'LOG_LEVEL',
  'HTTP_HOST',
  'HTTP_PORT',
  'NATS_URL',
  'NATS_USER',
  'NATS_PASSWORD',
  'NATS_TOKEN',
  'NATS_PREFIX',
  'NATS_STREAM_REPLICAS',
  'DATABASE_URL',
  'DATABASE_POOL_MAX',
  'OTEL_EXPORTER_OTLP_ENDPOINT',
  'SHUTDOWN_TIMEOUT_MS',
  'POD_NAME',
] as const;

/**
 * NATS client credentials: every pod that sets NATS_URL gets the user and password from the
 * Secret (the NATS server requires them); NATS_TOKEN is the alternative some setups use.
 */
export const NATS_CREDENTIAL_ENV = ['NATS_USER', 'NATS_PASSWORD', 'NATS_TOKEN'] as const;

/**
 * Provider credentials, always from the Secret (optional refs until the services use them).
 * tool-runner talks to no provider and gets none.
 */
export const PROVIDER_SECRET_ENV = [
  'TWILIO_ACCOUNT_SID',
  'TWILIO_AUTH_TOKEN',
  'OPENAI_API_KEY',
  'OPENAI_WEBHOOK_SECRET',
] as const;

/** Variables only some services read, on top of {@link COMMON_ENV}. */
export const SERVICE_ENV: Record<ServiceName, readonly string[]> = {
  gateway: [
    'PUBLIC_BASE_URL',
    'CALL_BRIDGE_MEDIA_URL',
    'STREAM_TOKEN_SECRET',
    'STREAM_TOKEN_TTL_SEC',
    'TRUSTED_PROXY_HOPS',
    ...PROVIDER_SECRET_ENV,
  ],
  'call-bridge': [
    'DRAIN_TIMEOUT_MS',
    'MAX_CALLS',
    'STREAM_TOKEN_SECRET',
    'OPENAI_BASE_URL',
    'OPENAI_REALTIME_URL',
    'OPENAI_REALTIME_CA',
    ...PROVIDER_SECRET_ENV,
  ],
  'campaign-scheduler': [
    'GATEWAY_PUBLIC_URL',
    'OPENAI_SIP_URI',
    'TWILIO_API_BASE_URL',
    'TWILIO_REQUEST_TIMEOUT_MS',
    'DIAL_MAX_CPS',
    'DIAL_MAX_CPS_PER_NUMBER',
    'DIAL_MAX_CONCURRENT',
    'DIAL_MAX_ATTEMPTS',
    'DIAL_RETRY_BACKOFF_MS',
    'DIAL_TRANSIENT_BACKOFF_MS',
    'DIAL_MAX_TRANSIENT_FAILURES',
    'DIAL_RING_TIMEOUT_SEC',
    'DIAL_PARALLELISM',
    'DIAL_POLL_INTERVAL_MS',
    'DIAL_RECLAIM_AFTER_MS',
    'DIAL_LIVE_CHECK_AFTER_MS',
    'CAMPAIGN_POLL_INTERVAL_MS',
    'CAMPAIGN_PROGRESS_INTERVAL_MS',
    'CAMPAIGN_REPUBLISH_AFTER_MS',
    ...PROVIDER_SECRET_ENV,
  ],
  'tool-runner': ['HTTP_TOOL_ALLOW_PRIVATE_NETWORKS', 'HTTP_TOOL_ALLOWED_HOSTS'],
  handoff: PROVIDER_SECRET_ENV,
};

/** Variables whose value must come from a Secret, never a literal in a k8s manifest. */
export const SECRET_ENV = [
  'DATABASE_URL',
  'STREAM_TOKEN_SECRET',
  ...NATS_CREDENTIAL_ENV,
  ...PROVIDER_SECRET_ENV,
] as const;

/** Variables of the migration job (`node packages/db/dist/cli/migrate.js`). */
export const MIGRATE_ENV = ['DATABASE_URL', 'MIGRATIONS_DIR'] as const;

/** call-bridge's default drain limit (ms), used where a manifest leaves it unset. */
export const DEFAULT_DRAIN_TIMEOUT_MS = 60_000;

/** Default shutdown deadline (ms) of every service but call-bridge. */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 10_000;

/** call-bridge's default shutdown deadline (ms): its config requires drain + 5 s at least. */
export const CALL_BRIDGE_DEFAULT_SHUTDOWN_TIMEOUT_MS = 75_000;

/**
 * Whether `service` reads `name`. Any variable `X` may also be given as `X_FILE` (a path to a
 * mounted secret file), so `X_FILE` is accepted wherever `X` is.
 */
export function acceptsEnv(service: ServiceName, name: string): boolean {
  const base = name.endsWith('_FILE') ? name.slice(0, -'_FILE'.length) : name;
  return (COMMON_ENV as readonly string[]).includes(base) || SERVICE_ENV[service].includes(base);
}

/** Whether `name` is a service folder this file knows about. */
export function isServiceName(name: string): name is ServiceName {
  return Object.hasOwn(SERVICE_PORTS, name);
}
