/**
 * POST /v1/calls: operators and their systems place an outbound call (issue 7).
 *
 * - `Authorization: Bearer <key>`, checked before the body is read: no key, an unknown or a
 *   revoked one: 401 with `WWW-Authenticate: Bearer` (RFC 6750 §3); role `viewer`: 403.
 * - The body is JSON (at most 32 KiB), read by a strict zod schema, then validated with
 *   `@app/dialing` against the database. Every issue is reported at once, each naming its field:
 *   400 `{ error: 'invalid call request', issues: [{ field, code, message }] }`. 400 rather than
 *   422 because the issue asks for it, and one status for every refusal keeps clients simple.
 * - `fromPool` asks the dialer to pick the caller id from a named number pool (it must have
 *   numbers: `unknown_pool`). `campaignId` (and `contactId`) file the call under a campaign: its
 *   consent purpose must be in force for `to` (`consent_missing`), its pool is used when no
 *   `from` is given, and its retry policy applies. The dialer validates again on its side, with
 *   the same code and the same reasons.
 * - The idempotency key is required: the `Idempotency-Key` header or `idempotencyKey` in the
 *   body (the header wins; both, differing: 400).
 * - A valid request is published on `call-requests.api` and answered 202 with its `requestId`,
 *   derived from the idempotency key. Nothing else is stored here: the dialer records it. If the
 *   publish fails, the answer is 503 and nothing is stored but, at most, the message itself (an
 *   ack lost after the stream stored it); a retry with the same key is safe either way.
 */
import type { JetStreamClient } from '@nats-io/jetstream';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';

import { callRequest, jsonValueSchema, publishCallRequest, type Names } from '@app/contracts';
import {
  validateCallRequest,
  type CallRequestInput,
  type DialingDirectory,
  type ValidationIssue,
} from '@app/dialing';

import type { ApiKeyStore } from '../adapters/api-keys.js';
import { apiKeyAuth, WRITER_ROLES } from './api-key-auth.js';
import { describeRoute } from './route-docs.js';

export interface CallsApiOptions {
  apiKeys: ApiKeyStore;
  directory: DialingDirectory;
  js: JetStreamClient;
  names: Names;
  /** CALL_MAX_SCHEDULE_AHEAD_DAYS in ms. @defaultValue `@app/dialing`'s, 30 days */
  maxScheduleAheadMs?: number;
  /** How long to wait for the CALL_REQUESTS stream's ack, in ms. @defaultValue 5000 */
  publishTimeoutMs?: number;
  /** The clock, for tests. @defaultValue `() => new Date()` */
  now?: () => Date;
}

/** A call request is a few short fields; metadata and variables leave plenty of room. */
const BODY_LIMIT = 32 * 1024;

/** The subject token of requests from this API: `call-requests.api`. */
const ORIGIN = 'api';

/** The body, field by field: types only; what the values mean is `@app/dialing`'s job. */
const callBodySchema = z.strictObject({
  to: z.string().max(256),
  from: z.string().max(256).optional(),
  fromPool: z.string().max(256).optional(),
  agentId: z.string().max(256),
  variables: z.record(z.string().max(256), z.string().max(4_096)).optional(),
  scheduledAt: z.string().max(64).optional(),
  metadata: z.record(z.string().max(256), jsonValueSchema).optional(),
  campaignId: z.string().max(64).optional(),
  contactId: z.string().max(64).optional(),
  idempotencyKey: z.string().optional(),
});
type CallBody = z.infer<typeof callBodySchema>;

/** The OpenAPI description of the route (`/docs`), from the schema the handler reads with. */
const POST_CALL_DOC = describeRoute({
  tags: ['Calls'],
  summary: 'Place an outbound call',
  description:
    'Validates the request against the database and queues it for the dialer. An idempotency ' +
    'key is required: the `Idempotency-Key` header or `idempotencyKey` in the body; a retry ' +
    'with the same key never dials twice (`Idempotent-Replayed: true`). Needs role admin or ' +
    'operator.',
  body: callBodySchema,
  response: {
    202: z.object({
      requestId: z.string().describe('derived from the idempotency key'),
      idempotencyKey: z.string(),
      status: z.literal('accepted'),
    }),
    400: { description: 'invalid call request: `{ error, issues: [{ field, code, message }] }`' },
    401: { description: 'no, an unknown or a revoked credential' },
    403: { description: 'role viewer' },
    503: { description: 'call requests are unavailable; retry with the same key' },
  },
});
const FIELDS = Object.keys(callBodySchema.shape) as Array<keyof CallBody>;

/** Issues are listed in the order of the request's fields. */
const FIELD_ORDER: readonly string[] = [
  'body',
  'to',
  'from',
  'fromPool',
  'agentId',
  'campaignId',
  'contactId',
  'variables',
  'scheduledAt',
  'metadata',
  'idempotencyKey',
];

const topField = (field: string) => field.split('.')[0] ?? field;

function invalid(field: string, message: string): ValidationIssue {
  return { field, code: 'invalid_field', message };
}

/**
 * Reads the body: the fields whose type is right, and an issue for each that is not, is
 * unknown, or is missing. Fields with issues are left out, so validation can still check the
 * others and the client hears about everything at once.
 */
function readBody(body: unknown): { fields: Partial<CallBody>; issues: ValidationIssue[] } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { fields: {}, issues: [invalid('body', 'the body must be a JSON object')] };
  }
  const raw = body as Record<string, unknown>;
  const parsed = callBodySchema.safeParse(raw);
  if (parsed.success) return { fields: parsed.data, issues: [] };

  const issues: ValidationIssue[] = [];
  for (const issue of parsed.error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        issues.push(invalid(key, `${key} is not a field of a call request`));
      }
      continue;
    }
    const field = issue.path.map(String).join('.') || 'body';
    const missing = issue.path.length === 1 && raw[field] === undefined;
    issues.push(invalid(field, missing ? `${field} is required` : `${field}: ${issue.message}`));
  }
  const bad = new Set(issues.map((i) => topField(i.field)));
  const fields: Record<string, unknown> = {};
  for (const key of FIELDS) {
    if (raw[key] !== undefined && !bad.has(key)) fields[key] = raw[key];
  }
  return { fields: fields as Partial<CallBody>, issues };
}

/**
 * The key from the `Idempotency-Key` header, else from the body. The header may be written as a
 * Structured Field string (`"abc"`, draft-ietf-httpapi-idempotency-key-header) or bare.
 */
function idempotencyKeyOf(
  header: string | string[] | undefined,
  fromBody: string | undefined,
): { key: string } | { issue: ValidationIssue } {
  const raw = Array.isArray(header) ? header.join(', ') : header;
  const fromHeader =
    raw !== undefined && raw.length >= 2 && raw.startsWith('"') && raw.endsWith('"')
      ? raw.slice(1, -1)
      : raw;
  if (fromHeader !== undefined && fromBody !== undefined && fromHeader !== fromBody) {
    return {
      issue: invalid(
        'idempotencyKey',
        'the Idempotency-Key header and idempotencyKey in the body differ: send one, or the same',
      ),
    };
  }
  const key = fromHeader ?? fromBody;
  if (key === undefined || key.trim() === '') {
    return {
      issue: invalid(
        'idempotencyKey',
        'an idempotency key is required: send an Idempotency-Key header (or idempotencyKey in the' +
          ' body), the same for every retry of this request',
      ),
    };
  }
  return { key };
}

function byField(issues: ValidationIssue[]): ValidationIssue[] {
  const rank = (field: string) => {
    const i = FIELD_ORDER.indexOf(topField(field));
    return i === -1 ? FIELD_ORDER.length : i;
  };
  return [...issues].sort((a, b) => rank(a.field) - rank(b.field));
}

export async function callsApiRoutes(app: FastifyInstance, opts: CallsApiOptions): Promise<void> {
  const now = opts.now ?? (() => new Date());
  const publishTimeoutMs = opts.publishTimeoutMs ?? 5_000;

  // JSON only (Fastify's default parser, with prototype-poisoning protection): a text/plain body
  // gets 415 like any other type, instead of reaching the handler as a string.
  app.removeContentTypeParser('text/plain');

  // This plugin's errors in the API's shape: Fastify's 4xx (bad JSON 400, 413, 415) keep their
  // status; anything else is ours and is logged.
  app.setErrorHandler((error: { statusCode?: number; message: string }, request, reply) => {
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) return reply.code(status).send({ error: error.message });
    request.log.error({ err: error }, 'call request failed');
    return reply.code(500).send({ error: 'internal error' });
  });

  // Authentication before the body is read, so an anonymous client cannot make us parse 32 KiB.
  const auth = apiKeyAuth({
    apiKeys: opts.apiKeys,
    rolesFor: () => WRITER_ROLES,
    actionFor: () => 'place calls',
  });
  app.addHook('onRequest', auth.hook);

  app.post('/v1/calls', { bodyLimit: BODY_LIMIT, ...POST_CALL_DOC }, async (request, reply) => {
    const principal = auth.principalOf(request);
    const { fields, issues } = readBody(request.body);
    const idempotency = idempotencyKeyOf(request.headers['idempotency-key'], fields.idempotencyKey);
    if ('issue' in idempotency) issues.push(idempotency.issue);
    if (issues.some((i) => i.field === 'body')) {
      return reply.code(400).send({ error: 'invalid call request', issues: byField(issues) });
    }

    const input: CallRequestInput = {
      to: fields.to ?? '',
      agentId: fields.agentId ?? '',
      idempotencyKey: 'key' in idempotency ? idempotency.key : '',
      ...(fields.from === undefined ? {} : { from: fields.from }),
      ...(fields.fromPool === undefined ? {} : { fromPool: fields.fromPool }),
      ...(fields.variables === undefined ? {} : { variables: fields.variables }),
      ...(fields.scheduledAt === undefined ? {} : { scheduledAt: fields.scheduledAt }),
      ...(fields.metadata === undefined ? {} : { metadata: fields.metadata }),
      ...(fields.campaignId === undefined ? {} : { campaignId: fields.campaignId }),
      ...(fields.contactId === undefined ? {} : { contactId: fields.contactId }),
    };
    const at = now();
    let result;
    try {
      result = await validateCallRequest(input, opts.directory, at, {
        ...(opts.maxScheduleAheadMs === undefined
          ? {}
          : { maxScheduleAheadMs: opts.maxScheduleAheadMs }),
      });
    } catch (err) {
      request.log.error({ err }, 'call request not validated: directory unavailable');
      return reply
        .code(503)
        .header('retry-after', '1')
        .send({ error: 'call requests are unavailable, retry later' });
    }
    // A field already refused for its type or presence is not reported twice.
    const reported = new Set(issues.map((i) => topField(i.field)));
    if (!result.ok) issues.push(...result.issues.filter((i) => !reported.has(topField(i.field))));
    if (issues.length > 0 || !result.ok) {
      const sorted = byField(issues);
      request.log.info(
        { keyPrefix: principal?.prefix, issues: sorted.map((i) => `${i.field}:${i.code}`) },
        'call request refused',
      );
      return reply.code(400).send({ error: 'invalid call request', issues: sorted });
    }

    const valid = result.request;
    const message = callRequest({
      to: valid.to,
      // The caller id validation chose (the agent's first number when none was given), so the
      // dialer calls from exactly the number that was checked; or the pool it picks one from.
      ...(valid.from === null ? {} : { from: valid.from }),
      ...(valid.fromPool ? { fromPool: valid.fromPool } : {}),
      agentId: valid.agentId,
      idempotencyKey: valid.idempotencyKey,
      ...(Object.keys(valid.variables).length > 0 ? { variables: valid.variables } : {}),
      // A time in the past was read as now: absent means as soon as possible.
      ...(valid.scheduledAt.getTime() > at.getTime()
        ? { scheduledAt: valid.scheduledAt.toISOString() }
        : {}),
      ...(fields.metadata === undefined ? {} : { metadata: valid.metadata }),
      ...(valid.campaignId === undefined ? {} : { campaignId: valid.campaignId }),
      ...(valid.contactId === undefined ? {} : { contactId: valid.contactId }),
    });
    const requestId = message.id;
    // Publishing a repeated request again is safe: its event id (the `Nats-Msg-Id`) is derived
    // from the idempotency key, so within the stream's one-day duplicate window JetStream acks
    // it as a duplicate and stores nothing, and past the window the dialer's unique key on the
    // idempotency key refuses it. Either way it can never dial twice. Publishing (rather than
    // answering from a cache) also means a retry after a lost ack or a 503 gets the request in.
    let duplicate: boolean;
    try {
      const ack = await publishCallRequest(opts.js, opts.names, ORIGIN, message, {
        timeoutMs: publishTimeoutMs,
      });
      duplicate = ack.duplicate;
    } catch (err) {
      // A schema failure is our bug (500); anything else is NATS (down, slow, no stream).
      if (err instanceof TypeError) throw err;
      request.log.error({ err, requestId }, 'call request not published');
      return reply
        .code(503)
        .header('retry-after', '1')
        .send({ error: 'call requests are unavailable, retry later' });
    }
    request.log.info(
      { requestId, agentId: valid.agentId, keyPrefix: principal?.prefix, duplicate },
      duplicate ? 'call request repeated' : 'call request accepted',
    );
    if (duplicate) void reply.header('idempotent-replayed', 'true');
    return reply
      .code(202)
      .send({ requestId, idempotencyKey: valid.idempotencyKey, status: 'accepted' });
  });
}
