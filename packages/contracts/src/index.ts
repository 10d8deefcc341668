/**
 * @app/contracts: NATS subjects, stream/KV names, a zod schema and TS type for every message,
 * and validated publish/consume/request helpers. Imports nothing of ours.
 */

// Names: subjects, streams, consumers, KV buckets.
export {
  assertToken,
  CALL_EVENT_TYPES,
  CallEventType,
  CAMPAIGN_EVENT_TYPES,
  CampaignEventType,
  createNames,
  ID_TOKEN_PATTERN,
  NAMES,
  SubjectKind,
  TOKEN_PATTERN,
} from './subjects.js';
export type {
  KvBucketSpec,
  Names,
  ParsedSubject,
  StreamRetention,
  StreamSpec,
} from './subjects.js';

// Envelope and shared primitives.
export {
  buildEnvelope,
  callEnvelope,
  callIdSchema,
  E164_PATTERN,
  e164Schema,
  envelope,
  ENVELOPE_VERSION,
  eventIdSchema,
  formatIssues,
  isoTimestampSchema,
  jsonValueSchema,
  parseOrThrow,
} from './envelope.js';
export type { Envelope, EnvelopeOptions, EnvelopeSchema } from './envelope.js';

// Call events: calls.<callId>.<event>.
export {
  CallDirection,
  CallEndReason,
  callEvent,
  callEventDataSchemas,
  callEventSchema,
  callEventSchemas,
  callEventTypeOf,
  CallTransport,
  callTransport as callTransportSchema,
  errorInfo as errorInfoSchema,
  ErrorSource,
  HandoffStepStatus,
} from './messages/call-events.js';
export type {
  CallEvent,
  CallEventData,
  CallEventDataInput,
  CallEventMessageType,
} from './messages/call-events.js';

// Call requests: call-requests.<origin>.
export {
  CALL_REQUEST_TYPE,
  callRequest,
  callRequestDataSchema,
  callRequestId,
  callRequestSchema,
  uuidV5,
} from './messages/call-requests.js';
export type { CallRequest, CallRequestData } from './messages/call-requests.js';

// Campaign events: campaigns.<campaignId>.<event>.
export {
  campaignCountsSchema,
  campaignEvent,
  campaignEventDataSchemas,
  campaignEventSchema,
  campaignEventSchemas,
  campaignEventTypeOf,
  campaignIdSchema,
} from './messages/campaign-events.js';
export type {
  CampaignCounts,
  CampaignEvent,
  CampaignEventData,
  CampaignEventDataInput,
  CampaignEventMessageType,
} from './messages/campaign-events.js';

// Request/reply endpoints.
export {
  callControlCommandSchema,
  callControlEndpoint,
  callControlReply,
  callControlRequest,
  callControlResultSchema,
} from './messages/call-control.js';
export type {
  CallControlAction,
  CallControlCommand,
  CallControlReply,
  CallControlRequest,
  CallControlResult,
} from './messages/call-control.js';
export {
  sipOfferEndpoint,
  sipOfferReply,
  sipOfferRequest,
  sipOfferResultSchema,
  sipOfferSchema,
} from './messages/sip-offer.js';
export type {
  SipOffer,
  SipOfferReply,
  SipOfferRequest,
  SipOfferResult,
} from './messages/sip-offer.js';
export {
  toolExecuteEndpoint,
  toolExecuteReply,
  toolExecuteRequest,
  toolInvocationSchema,
  toolResultSchema,
} from './messages/tool-execute.js';
export type {
  ToolExecuteReply,
  ToolExecuteRequest,
  ToolInvocation,
  ToolResult,
} from './messages/tool-execute.js';

// Handoff: handoff.transfer and human-agents.<agentId>.notify.
export {
  handoffTransferEndpoint,
  handoffTransferReply,
  handoffTransferRequest,
  handoffTransferResultSchema,
  handoffTransferSchema,
  HUMAN_AGENT_NOTIFY_TYPE,
  humanAgentNotify,
  humanAgentNotifyDataSchema,
  HumanAgentNotifyKind,
  humanAgentNotifySchema,
} from './messages/handoff.js';
export type {
  HandoffTransfer,
  HandoffTransferReply,
  HandoffTransferRequest,
  HandoffTransferResult,
  HumanAgentNotify,
  HumanAgentNotifyData,
} from './messages/handoff.js';

// KV call-owners value.
export { callOwner, callOwnerSchema } from './messages/call-owner.js';
export type { CallOwner } from './messages/call-owner.js';

// Registry: schema by type and by subject.
export {
  decodeMessage,
  decodeReply,
  ENDPOINTS,
  makeEnvelope,
  MESSAGE_SCHEMAS,
  schemaForSubject,
} from './registry.js';
export type {
  AnyMessage,
  DecodeResult,
  EndpointName,
  EndpointReply,
  EndpointReplyData,
  EndpointRequest,
  MessageOf,
  MessageType,
  SubjectMessages,
} from './registry.js';

// Bus helpers over NATS, JetStream and KV.
export type { BusLogger } from './bus/logger.js';
export { extractTraceContext, injectTraceContext } from './bus/trace.js';
export {
  encodeMessage,
  eventSubject,
  publishCallRequest,
  publishEvent,
  publishHumanAgentNotify,
  validateMessage,
} from './bus/publish.js';
export type { PublishOptions } from './bus/publish.js';
export { consumeMessages, doublingRetryDelay, ensureDurableConsumer } from './bus/consume.js';
export type {
  ConsumeOptions,
  DurableConsumerSpec,
  MessageHandler,
  MessageMeta,
  RunningConsumer,
} from './bus/consume.js';
export { subscribeMessages } from './bus/subscribe.js';
export type { SubscribeOptions } from './bus/subscribe.js';
export {
  endpointQueue,
  endpointRequestHandler,
  endpointSubject,
  ReplyFailureCode,
  request,
  serveEndpoint,
} from './bus/request-reply.js';
export type {
  EndpointHandlerOptions,
  ReplySender,
  RequestOptions,
  ServeOptions,
} from './bus/request-reply.js';
export { serveService } from './bus/service.js';
export type {
  EndpointRunStats,
  RunningService,
  ServeServiceOptions,
  ServiceEndpoint,
  ServiceEndpointName,
} from './bus/service.js';
export { CallOwners } from './bus/call-owners.js';
export { KvNumberRegister } from './bus/kv-number-register.js';

// HTTP bodies shared by the gateway and the dashboard.
export { callStatsSchema, statsPointSchema } from './http/call-stats.js';
export type { CallStats, StatsPoint } from './http/call-stats.js';
