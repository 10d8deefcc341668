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
export { callsApiRoutes, type CallsApiOptions } from './routes/calls-api.js';
export { campaignsApiRoutes, type CampaignsApiOptions } from './routes/campaigns-api.js';
export { apiKeyAuth, WRITER_ROLES, type ApiKeyAuthOptions } from './routes/api-key-auth.js';
export {
  API_KEY_PREFIX,
  API_KEY_ROLES,
  createApiKey,
  generateApiKey,
  hashApiKey,
  PrismaApiKeyStore,
  type ApiKeyCheck,
  type ApiKeyPrincipal,
  type ApiKeyStore,
} from './adapters/api-keys.js';
export {
  machineAnsweredEventId,
  twilioOutboundRoutes,
  type TwilioOutboundOptions,
} from './routes/twilio-outbound.js';
export {
  MACHINE_ANSWERS,
  outboundAnswer,
  type AnsweringMachineSettings,
  type OutboundAnswer,
  type SilentHangupReason,
} from './domain/answering-machine.js';
export { openAIWebhookRoutes, type OpenAIWebhookOptions } from './routes/openai-webhook.js';
export { KvWebhookClaims, type ClaimKind, type WebhookClaims } from './adapters/webhook-claims.js';
export {
  callIdForOpenAICall,
  handleSipCallIncoming,
  SipStatus,
  type SipCallIncomingDeps,
  type SipCallIncomingResult,
} from './handlers/sip-call-incoming.js';
export { parseSipHeaders, phoneFromAddress, phoneFromUri } from './domain/sip-headers.js';
export type { ParsedSipHeaders, SipHeader } from './domain/sip-headers.js';
export {
  offerSipCall,
  RETRYABLE_REJECTIONS,
  type BusyReason,
  type OfferAttempt,
  type OfferOutcome,
  type OfferPolicy,
} from './domain/sip-offerer.js';
export { bridgeOwnsEnd, endReasonForStatus } from './domain/twilio-status.js';
export { apiKeysApiRoutes, type ApiKeysApiOptions } from './routes/api-keys-api.js';
export { usersApiRoutes, type UsersApiOptions } from './routes/users-api.js';
export { sessionApiRoutes, type SessionApiOptions } from './routes/session-api.js';
export {
  sessionAuthPlugin,
  sessionCookieName,
  signedInSession,
  type SessionAuthOptions,
  type SessionCookieSettings,
  type SessionLookup,
} from './routes/session-auth.js';
export { adminResourceAuth, type Principal } from './routes/api-key-auth.js';
export {
  createUser,
  normalizeEmail,
  PrismaUserStore,
  type CredentialCheck,
  type NewUser,
  type UserRecord,
  type UserStore,
} from './adapters/users.js';
export {
  hashSessionToken,
  PrismaSessionStore,
  type ActiveSession,
  type SessionStore,
  type SessionUser,
} from './adapters/sessions.js';
export { hashPassword, MIN_PASSWORD_LENGTH, verifyPassword } from './domain/passwords.js';
export { sessionCookieSecure } from './config.js';
export {
  policiesOf,
  RETENTION_ACTOR,
  retentionEnvSchema,
  runRetention,
  type RetentionCounts,
  type RetentionPolicies,
  type RetentionReport,
} from './adapters/retention.js';
export { runRetentionCommand } from './retention-command.js';
export { maskPhoneNumbers } from './domain/phone-mask.js';
