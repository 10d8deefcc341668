/**
 * Every NATS subject, stream, durable consumer and KV bucket of the platform, built in one place.
 *
 * Rules (STYLE.md 6.8): lowercase `a-z0-9` and `-` inside a token, ids in a fixed position so
 * `calls.*.ended` works, streams UPPERCASE owning one domain, durable consumers
 * `<service>-<purpose>`. Nothing else in the codebase writes a subject as a template string.
 *
 * A namespace (`NATS_PREFIX`) puts a whole deployment, or one test file, under its own first
 * token and its own stream/bucket names, so several can share one nats-server without
 * overlapping stream subjects (JetStream refuses two streams capturing the same subject).
 */

/** Characters allowed inside one subject token (event names, origins, prefixes). */
export const TOKEN_PATTERN = /^[a-z0-9][a-z0-9_-]*$/;
/** Ids from providers (Twilio `CA…` SIDs, UUIDs) may carry uppercase; still no `.`/`*`/`>`/space. */
export const ID_TOKEN_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;

/** Throws a `TypeError` naming the token when it cannot be one subject token. */
export function assertToken(kind: string, value: string, pattern: RegExp = TOKEN_PATTERN): string {
  if (
    typeof value !== 'string' ||
    value.length === 0 ||
    value.length > 128 ||
    !pattern.test(value)
  ) {
    throw new TypeError(
      `${kind} "${String(value)}" is not a valid subject token: use ${pattern.source} (no ".", "*", ">" or whitespace), at most 128 characters`,
    );
  }
  return value;
}

/** Call lifecycle events, published on `calls.<callId>.<event>` (past tense, as in ARCHITECTURE.md). */
export const CallEventType = {
  Created: 'created',
  Ringing: 'ringing',
  Answered: 'answered',
  Status: 'status',
  Transcript: 'transcript',
  BargeIn: 'barge-in',
  ToolCalled: 'tool-called',
  HandoffRequested: 'handoff-requested',
  HandoffUpdated: 'handoff-updated',
  MessageTaken: 'message-taken',
  Error: 'error',
  Ended: 'ended',
} as const;
export type CallEventType = (typeof CallEventType)[keyof typeof CallEventType];
export const CALL_EVENT_TYPES = Object.values(CallEventType) as [CallEventType, ...CallEventType[]];

/** Campaign progress events, published on `campaigns.<campaignId>.<event>`. */
export const CampaignEventType = {
  Started: 'started',
  Paused: 'paused',
  Resumed: 'resumed',
  Progress: 'progress',
  Completed: 'completed',
  Canceled: 'canceled',
} as const;
export type CampaignEventType = (typeof CampaignEventType)[keyof typeof CampaignEventType];
export const CAMPAIGN_EVENT_TYPES = Object.values(CampaignEventType) as [
  CampaignEventType,
  ...CampaignEventType[],
];

/** What a concrete subject is for; the registry maps each kind to its payload schema. */
export const SubjectKind = {
  CallEvent: 'call-event',
  CallRequest: 'call-request',
  CampaignEvent: 'campaign-event',
  CallControl: 'call-control',
  SipOffer: 'sip-offer',
  ToolExecute: 'tool-execute',
  HandoffTransfer: 'handoff-transfer',
  HumanAgentNotify: 'human-agent-notify',
} as const;
export type SubjectKind = (typeof SubjectKind)[keyof typeof SubjectKind];

/**
 * A concrete subject split into its kind and tokens. Event tokens are returned as found (not
 * checked against {@link CallEventType}); the registry decides whether it knows them.
 */
export type ParsedSubject =
  | { readonly kind: 'call-event'; readonly callId: string; readonly event: string }
  | { readonly kind: 'call-request'; readonly origin: string }
  | { readonly kind: 'campaign-event'; readonly campaignId: string; readonly event: string }
  | { readonly kind: 'call-control'; readonly callId: string }
  | { readonly kind: 'sip-offer' }
  | { readonly kind: 'tool-execute' }
  | { readonly kind: 'handoff-transfer' }
  | { readonly kind: 'human-agent-notify'; readonly agentId: string };

function parseTokens(t: readonly string[]): ParsedSubject | null {
  if (t.some((token) => token.length === 0)) return null;
  const [a = '', b = '', c = ''] = t;
  if (t.length === 3 && a === 'calls') return { kind: 'call-event', callId: b, event: c };
  if (t.length === 2 && a === 'call-requests') return { kind: 'call-request', origin: b };
  if (t.length === 3 && a === 'campaigns') {
    return { kind: 'campaign-event', campaignId: b, event: c };
  }
  if (t.length === 2 && a === 'call-control') return { kind: 'call-control', callId: b };
  if (t.length === 2 && a === 'call-bridge' && b === 'sip-offer') return { kind: 'sip-offer' };
  if (t.length === 2 && a === 'tool-runner' && b === 'execute') return { kind: 'tool-execute' };
  if (t.length === 2 && a === 'handoff' && b === 'transfer') return { kind: 'handoff-transfer' };
  if (t.length === 3 && a === 'human-agents' && c === 'notify') {
    return { kind: 'human-agent-notify', agentId: b };
  }
  return null;
}

/** JetStream retention of each stream: events are kept by limits, call requests are a work queue. */
export type StreamRetention = 'limits' | 'workqueue';

/** What platform provisioning needs to create a stream idempotently. */
export interface StreamSpec {
  /** Stream name, UPPERCASE, namespaced. */
  readonly name: string;
  /** Subjects the stream captures. */
  readonly subjects: readonly string[];
  readonly retention: StreamRetention;
  /** Oldest message kept, in ms; `0` keeps forever. */
  readonly maxAgeMs: number;
  /** Window in which a repeated `Nats-Msg-Id` is dropped, in ms. */
  readonly duplicateWindowMs: number;
}

/** What platform provisioning needs to create a KV bucket idempotently. */
export interface KvBucketSpec {
  /** Bucket name, namespaced. */
  readonly name: string;
  /** Bucket-level TTL in ms: an entry not re-put within it disappears (nats-server 2.9 has no per-key TTL). */
  readonly ttlMs: number;
  readonly history: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** The complete set of names for one namespace. Build it with {@link createNames}. */
export interface Names {
  /** The namespace prefix, `''` for none. */
  readonly prefix: string;
  readonly subjects: ReturnType<typeof buildSubjects>;
  readonly streams: {
    readonly calls: StreamSpec;
    readonly callRequests: StreamSpec;
    readonly campaigns: StreamSpec;
  };
  readonly kv: {
    readonly callOwners: KvBucketSpec;
    /**
     * Gateway: claims of OpenAI webhook ids and OpenAI call ids already handled (replay and
     * duplicate protection of `POST /openai/webhook`). Created by the gateway at start.
     */
    readonly openaiWebhookIds: KvBucketSpec;
    /**
     * Gateway: claims of Twilio webhook requests already handled (replay protection of the
     * signed but untimed Twilio webhooks). Created by the gateway at start.
     */
    readonly twilioWebhookClaims: KvBucketSpec;
    /**
     * Gateway: request counters of the HTTP rate limits, shared by its replicas, one key per
     * client, policy and fixed one-minute window. Created by the gateway at start.
     */
    readonly gatewayRateLimits: KvBucketSpec;
    /**
     * Campaign-scheduler: the dialer's call-rate limits shared by its replicas, one key per
     * limit (`global`, `from-<digits>`) holding the earliest time the next call may start.
     */
    readonly dialerRateLimits: KvBucketSpec;
    /**
     * Tool-runner: invocation counters shared by its replicas, one key per limit and window
     * (`call.<callId>.<window>`, `tool.<name>.<window>`).
     */
    readonly toolRateLimits: KvBucketSpec;
  };
  /** Durable consumer names, `<service>-<purpose>`. */
  readonly consumers: {
    /** Gateway's call-record projector: CALLS -> PostgreSQL. */
    readonly callRecords: 'gateway-call-records';
    /** Campaign-scheduler's dialer: CALL_REQUESTS work queue. */
    readonly callRequests: 'campaign-scheduler-call-requests';
    /** Campaign-scheduler reacts to ended calls (retries, progress). */
    readonly schedulerOnCallEnded: 'campaign-scheduler-on-call-ended';
    /** Handoff reacts to ended calls (closes open handoffs). */
    readonly handoffOnCallEnded: 'handoff-on-call-ended';
  };
  /** Request/reply service names (`@nats-io/services` name = group = queue group). */
  readonly services: {
    readonly callBridge: 'call-bridge';
    readonly toolRunner: 'tool-runner';
    readonly handoff: 'handoff';
  };
}

function buildSubjects(p: string) {
  const calls = `${p}calls`;
  return {
    /** `calls.<callId>.<event>`: one call event (JetStream CALLS). */
    callEvent: (callId: string, event: CallEventType) =>
      `${calls}.${assertToken('callId', callId, ID_TOKEN_PATTERN)}.${assertToken('event', event)}`,
    /** `calls.<callId>.>`: every event of one call. */
    callEventsOf: (callId: string) =>
      `${calls}.${assertToken('callId', callId, ID_TOKEN_PATTERN)}.>`,
    /** `calls.*.<event>`: one event type across all calls (e.g. `calls.*.ended`). */
    callEventsOfType: (event: CallEventType) => `${calls}.*.${assertToken('event', event)}`,
    /** `calls.>`: everything the CALLS stream captures. */
    allCallEvents: `${calls}.>`,
    /** `call-requests.<origin>`: an outbound call request from an origin (`api`, `tool-runner`, ...). */
    callRequest: (origin: string) => `${p}call-requests.${assertToken('origin', origin)}`,
    allCallRequests: `${p}call-requests.>`,
    /** `campaigns.<campaignId>.<event>`. */
    campaignEvent: (campaignId: string, event: CampaignEventType) =>
      `${p}campaigns.${assertToken('campaignId', campaignId, ID_TOKEN_PATTERN)}.${assertToken('event', event)}`,
    campaignEventsOf: (campaignId: string) =>
      `${p}campaigns.${assertToken('campaignId', campaignId, ID_TOKEN_PATTERN)}.>`,
    allCampaignEvents: `${p}campaigns.>`,
    /** `call-control.<callId>`: request/reply to the bridge that owns the call (core NATS, not stored). */
    callControl: (callId: string) =>
      `${p}call-control.${assertToken('callId', callId, ID_TOKEN_PATTERN)}`,
    /** `call-bridge.sip-offer`: SIP offers, served by bridges in one queue group. */
    sipOffer: `${p}call-bridge.sip-offer`,
    /** `tool-runner.execute`. */
    toolExecute: `${p}tool-runner.execute`,
    /** `handoff.transfer`. */
    handoffTransfer: `${p}handoff.transfer`,
    /** `human-agents.<agentId>.notify`: pub/sub to one human agent's dashboard. */
    humanAgentNotify: (agentId: string) =>
      `${p}human-agents.${assertToken('agentId', agentId, ID_TOKEN_PATTERN)}.notify`,
    /** `human-agents.*.notify`: every human agent's notifications (the live operator view). */
    allHumanAgentNotifies: `${p}human-agents.*.notify`,
    /** Split a call event subject into its id and event; `null` when it is not one. */
    parseCallEvent: (subject: string): { callId: string; event: string } | null => {
      if (!subject.startsWith(`${calls}.`)) return null;
      const rest = subject.slice(calls.length + 1).split('.');
      if (rest.length !== 2 || !rest[0] || !rest[1]) return null;
      return { callId: rest[0], event: rest[1] };
    },
    /**
     * Split any subject of this namespace into its kind and ids; `null` when it belongs to
     * another namespace or is not one of ours. Wildcard subjects are not parsed.
     */
    parse: (subject: string): ParsedSubject | null => {
      if (p !== '' && !subject.startsWith(p)) return null;
      return parseTokens(subject.slice(p.length).split('.'));
    },
  };
}

/**
 * Builds every name for a namespace.
 *
 * @param prefix - One lowercase token (`[a-z0-9][a-z0-9_-]*`), or `''` for none.
 *   With `prefix = 't42'`: subject `t42.calls.<id>.created`, stream `T42_CALLS`, bucket `t42-call-owners`.
 * @defaultValue prefix `''`
 */
export function createNames(prefix = ''): Names {
  if (prefix !== '') assertToken('NATS prefix', prefix);
  const p = prefix ? `${prefix}.` : '';
  const streamPrefix = prefix ? `${prefix.toUpperCase().replace(/-/g, '_')}_` : '';
  const bucketPrefix = prefix ? `${prefix}-` : '';
  const subjects = buildSubjects(p);
  return Object.freeze({
    prefix,
    subjects,
    streams: {
      calls: {
        name: `${streamPrefix}CALLS`,
        subjects: [subjects.allCallEvents],
        retention: 'limits',
        maxAgeMs: 7 * DAY_MS,
        duplicateWindowMs: 2 * 60 * 1000,
      },
      callRequests: {
        name: `${streamPrefix}CALL_REQUESTS`,
        subjects: [subjects.allCallRequests],
        retention: 'workqueue',
        maxAgeMs: 30 * DAY_MS,
        // Long window: a request re-sent with the same idempotency key within a day is dropped
        // by JetStream itself; the database unique key covers the rest.
        duplicateWindowMs: DAY_MS,
      },
      campaigns: {
        name: `${streamPrefix}CAMPAIGNS`,
        subjects: [subjects.allCampaignEvents],
        retention: 'limits',
        maxAgeMs: 30 * DAY_MS,
        duplicateWindowMs: 2 * 60 * 1000,
      },
    },
    kv: {
      callOwners: { name: `${bucketPrefix}call-owners`, ttlMs: 30_000, history: 1 },
      // A signed webhook passes the timestamp check from `tolerance` before to `tolerance` after
      // its timestamp (at most 300 s each way), so a replay is possible for 2 × 300 s: a claim
      // must outlive that window, with a minute to spare.
      openaiWebhookIds: {
        name: `${bucketPrefix}openai-webhook-ids`,
        ttlMs: (2 * 300 + 60) * 1_000,
        history: 1,
      },
      // Twilio signs no timestamp, so any window is a choice: a day outlasts every retry
      // (Twilio gives up within 15 s) and every call, at a few small keys per call.
      twilioWebhookClaims: {
        name: `${bucketPrefix}twilio-webhook-claims`,
        ttlMs: DAY_MS,
        history: 1,
      },
      // The TTL is the rate limits' window: a counter outlives its minute by at most one more.
      gatewayRateLimits: {
        name: `${bucketPrefix}gateway-rate-limits`,
        ttlMs: 60_000,
        history: 1,
      },
      // A limit's key is rewritten by every call it paces; one untouched for a minute is long
      // past (the slowest pace the dialer accepts is one call per 20 s), and absent means free.
      dialerRateLimits: { name: `${bucketPrefix}dialer-rate-limits`, ttlMs: 60_000, history: 1 },
      // Counters of fixed windows of at most a minute: a key a few minutes old is past its window.
      toolRateLimits: { name: `${bucketPrefix}tool-rate-limits`, ttlMs: 5 * 60_000, history: 1 },
    },
    consumers: {
      callRecords: 'gateway-call-records',
      callRequests: 'campaign-scheduler-call-requests',
      schedulerOnCallEnded: 'campaign-scheduler-on-call-ended',
      handoffOnCallEnded: 'handoff-on-call-ended',
    },
    services: { callBridge: 'call-bridge', toolRunner: 'tool-runner', handoff: 'handoff' },
  } as const);
}

/** Names of the default (un-prefixed) namespace. */
export const NAMES: Names = createNames();
