/**
 * The dialer's state in PostgreSQL (`call_requests`). Every transition is one conditional
 * UPDATE, so replicas and redeliveries can race freely:
 *
 *   pending --claim--> dialing --created--> dialed --ended--> completed | failed | canceled
 *      ^                 |  \                  |
 *      |   429/5xx/none  |   \--refused--> failed          (busy, no-answer, failed: retry)
 *      +-----------------+-------------------------------------+
 *
 * - claim: under one advisory lock (so the live-call cap holds across replicas), the oldest due
 *   `pending` request becomes `dialing` with `attempts + 1`, the derived call id of that attempt
 *   and a fresh claim token.
 * - fence: right before `calls.create` the holder re-stamps `checked_at`, if its token is still
 *   the request's. A request `dialing` longer than the reclaim delay lost its dialer; the
 *   reconciler takes it over with a new token (so the old holder can no longer dial) and asks
 *   Twilio whether the call exists.
 * - an attempt that never reached Twilio goes back to `pending` with `attempts - 1`.
 * - a pool request (`from_pool`) has its caller id picked per attempt; the fence records it
 *   (`from_number`, `transport`) before the call is created, so a takeover looks for the call
 *   from the right number.
 * - the end of a call is judged by the request's own retry policy (its campaign's, in
 *   `retry_policy`) over the dialer's defaults.
 */
import { randomUUID } from 'node:crypto';

import { Prisma, type PrismaClient } from '@app/db';
import { readStoredRetryPolicy, type ValidationIssue, type ValidCallRequest } from '@app/dialing';

import {
  attemptCallId,
  decideAfterEnd,
  policyFor,
  type EndDecision,
  type RetryPolicy,
} from '../domain/attempts.js';
import type { Transport } from '../domain/call-placement.js';

/** Key of the advisory lock that serializes claims (any fixed bigint; "dial" in ASCII). */
const CLAIM_LOCK_KEY = 0x6469616cn;

/** A request claimed for one attempt. */
export interface ClaimedRequest {
  readonly id: string;
  readonly idempotencyKey: string;
  readonly to: string;
  /** The caller id; '' for a pool request whose attempt has not picked one yet. */
  readonly from: string;
  /** The pool each attempt's caller id is picked from; null = `from`. */
  readonly fromPool: string | null;
  /** null when the agent was deleted after the request was accepted. */
  readonly agentId: string | null;
  readonly transport: Transport;
  readonly campaignId: string | null;
  readonly contactId: string | null;
  /** Values for the agent's instructions (`{{name}}`). */
  readonly variables: Record<string, string>;
  /** This attempt's number, 1 = first. */
  readonly attempt: number;
  /** Our call id of this attempt. */
  readonly callId: string;
  readonly token: string;
  /** When the previous holder last stamped it (reconciler takeovers); the claim time otherwise. */
  readonly since: Date;
  readonly transientFailures: number;
}

export type ClaimOutcome =
  | { readonly kind: 'claimed'; readonly claim: ClaimedRequest }
  /** DIAL_MAX_CONCURRENT calls are live. */
  | { readonly kind: 'at-capacity' }
  /** Nothing due; `nextDueAt` is the earliest pending request's time, null when none. */
  | { readonly kind: 'idle'; readonly nextDueAt: Date | null };

/** A request whose call should have ended by now: look it up at Twilio. */
export interface DialedRequest {
  readonly id: string;
  readonly callId: string;
  readonly providerCallSid: string | null;
}

interface ClaimRow {
  id: string;
  idempotency_key: string;
  to_number: string;
  from_number: string | null;
  from_pool: string | null;
  agent_id: string | null;
  transport: 'media_streams' | 'sip';
  campaign_id: string | null;
  contact_id: string | null;
  variables: unknown;
  attempts: number;
  call_id: string | null;
  claim_token: string | null;
  since: Date | null;
  transient_failures: number;
}

const CLAIM_COLUMNS = Prisma.sql`t.id::text, t.idempotency_key, t.to_number, t.from_number,
  t.from_pool, t.agent_id::text, t.transport::text, t.campaign_id, t.contact_id, t.variables, t.attempts,
  t.call_id::text, t.claim_token::text, t.transient_failures`;

/** `variables` as stored: an object of strings (anything else is dropped). */
function stringRecord(value: unknown): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return {};
  return Object.fromEntries(
    Object.entries(value).filter((e): e is [string, string] => typeof e[1] === 'string'),
  );
}

function toClaim(row: ClaimRow): ClaimedRequest {
  return {
    id: row.id,
    idempotencyKey: row.idempotency_key,
    to: row.to_number,
    from: row.from_number ?? '',
    fromPool: row.from_pool,
    agentId: row.agent_id,
    transport: row.transport === 'sip' ? 'sip' : 'media-streams',
    campaignId: row.campaign_id,
    contactId: row.contact_id,
    variables: stringRecord(row.variables),
    attempt: row.attempts,
    callId: row.call_id ?? '',
    token: row.claim_token ?? '',
    since: row.since ?? new Date(),
    transientFailures: row.transient_failures,
  };
}

/** The call id of the attempt before `claim`'s, or null for the first. */
function previousCallId(claim: ClaimedRequest): string | null {
  return claim.attempt > 1 ? attemptCallId(claim.idempotencyKey, claim.attempt - 1) : null;
}

export class CallRequestStore {
  constructor(private readonly prisma: PrismaClient) {}

  /** Records a valid request as `pending`; `duplicate` when its idempotency key is known. */
  async insertPending(
    request: ValidCallRequest,
    origin: string,
  ): Promise<'inserted' | 'duplicate'> {
    const { count } = await this.prisma.callRequest.createMany({
      data: [
        {
          idempotencyKey: request.idempotencyKey,
          origin,
          toNumber: request.to,
          fromNumber: request.from,
          fromPool: request.fromPool ?? null,
          agentId: request.agentId,
          transport: request.transport === 'sip' ? 'sip' : 'media_streams',
          ...(request.retryPolicy
            ? { retryPolicy: request.retryPolicy as Prisma.InputJsonObject }
            : {}),
          variables: request.variables,
          metadata: request.metadata as Prisma.InputJsonObject,
          campaignId: request.campaignId ?? null,
          contactId: request.contactId ?? null,
          scheduledAt: request.scheduledAt,
          nextAttemptAt: request.scheduledAt,
        },
      ],
      skipDuplicates: true,
    });
    return count === 1 ? 'inserted' : 'duplicate';
  }

  /**
   * Records a request refused by validation as `rejected`, with its issues, so the requester
   * can see why; `duplicate` when its idempotency key is known (nothing changes then).
   */
  async insertRejected(
    request: {
      idempotencyKey: string;
      to: string;
      from?: string | undefined;
      /** Only an agent that exists (a foreign key): null otherwise. */
      agentId: string | null;
      metadata?: Record<string, unknown> | undefined;
      campaignId?: string | undefined;
      contactId?: string | undefined;
    },
    origin: string,
    issues: readonly ValidationIssue[],
  ): Promise<'inserted' | 'duplicate'> {
    const { count } = await this.prisma.callRequest.createMany({
      data: [
        {
          idempotencyKey: request.idempotencyKey,
          origin,
          toNumber: request.to,
          fromNumber: request.from ?? null,
          agentId: request.agentId,
          metadata: (request.metadata ?? {}) as Prisma.InputJsonObject,
          campaignId: request.campaignId ?? null,
          contactId: request.contactId ?? null,
          status: 'rejected',
          error: issues.map((i) => `${i.field}: ${i.message}`).join('; '),
          issues: issues.map((i) => ({ field: i.field, code: i.code, message: i.message })),
          finishedAt: new Date(),
        },
      ],
      skipDuplicates: true,
    });
    return count === 1 ? 'inserted' : 'duplicate';
  }

  /**
   * Claims the oldest due request for its next attempt, unless `maxLive` requests are already
   * `dialing` or `dialed`. Serialized across replicas by an advisory lock, so the cap holds.
   */
  async claimNext(maxLive: number, pod: string): Promise<ClaimOutcome> {
    return this.prisma.$transaction(async (tx) => {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(${CLAIM_LOCK_KEY})`;
      const [live] = await tx.$queryRaw<Array<{ n: number }>>`
        SELECT count(*)::int AS n FROM call_requests WHERE status IN ('dialing', 'dialed')`;
      if ((live?.n ?? 0) >= maxLive) return { kind: 'at-capacity' } as const;
      const [due] = await tx.$queryRaw<Array<{ id: string; key: string; attempts: number }>>`
        SELECT id::text, idempotency_key AS key, attempts FROM call_requests
        WHERE status = 'pending' AND next_attempt_at <= now()
        ORDER BY next_attempt_at, created_at
        LIMIT 1 FOR UPDATE SKIP LOCKED`;
      if (!due) {
        const [next] = await tx.$queryRaw<Array<{ at: Date | null }>>`
          SELECT min(next_attempt_at) AS at FROM call_requests WHERE status = 'pending'`;
        return { kind: 'idle', nextDueAt: next?.at ?? null } as const;
      }
      const attempt = due.attempts + 1;
      const rows = await tx.$queryRaw<ClaimRow[]>`
        UPDATE call_requests AS t SET status = 'dialing', attempts = ${attempt},
          call_id = ${attemptCallId(due.key, attempt)}::uuid, claim_token = ${randomUUID()}::uuid,
          claimed_by = ${pod}, checked_at = now(), updated_at = now()
        WHERE t.id = ${due.id}::uuid
        RETURNING ${CLAIM_COLUMNS}, t.checked_at AS since`;
      const row = rows[0];
      if (!row) return { kind: 'idle', nextDueAt: null } as const;
      return { kind: 'claimed', claim: toClaim(row) } as const;
    });
  }

  /** Calls live now across every replica: requests `dialing` or `dialed` (the cap's count). */
  async liveCount(): Promise<number> {
    const [row] = await this.prisma.$queryRaw<Array<{ n: number }>>`
      SELECT count(*)::int AS n FROM call_requests WHERE status IN ('dialing', 'dialed')`;
    return row?.n ?? 0;
  }

  /**
   * Stamps the claim right before dialing, with the caller id the attempt uses (a pool request's
   * pick); false when it was taken over (do not dial).
   */
  async fence(
    claim: ClaimedRequest,
    caller: { from: string; transport: Transport } = claim,
  ): Promise<boolean> {
    const transport = caller.transport === 'sip' ? 'sip' : 'media_streams';
    const n = await this.prisma.$executeRaw`
      UPDATE call_requests SET checked_at = now(), updated_at = now(),
        from_number = ${caller.from}, transport = ${transport}::phone_transport
      WHERE id = ${claim.id}::uuid AND status = 'dialing' AND claim_token = ${claim.token}::uuid`;
    return n === 1;
  }

  /**
   * Records Twilio's CallSid of the attempt; a `dialing` request becomes `dialed` (its `ended`
   * may already have moved it on, which stays). False when a later attempt has begun.
   */
  async markDialed(claim: ClaimedRequest, providerCallSid: string): Promise<boolean> {
    const n = await this.prisma.$executeRaw`
      UPDATE call_requests SET provider_call_sid = ${providerCallSid},
        dialed_at = CASE WHEN status = 'dialing' THEN now() ELSE dialed_at END,
        checked_at = CASE WHEN status = 'dialing' THEN now() ELSE checked_at END,
        status = CASE WHEN status = 'dialing' THEN 'dialed'::call_request_status ELSE status END,
        transient_failures = 0, error = NULL, updated_at = now()
      WHERE id = ${claim.id}::uuid AND call_id = ${claim.callId}::uuid`;
    return n === 1;
  }

  /**
   * Gives an attempt that never reached Twilio back: `pending` again at `nextAttemptAt`, the
   * attempt not counted. False when the claim was taken over meanwhile.
   */
  async release(
    claim: ClaimedRequest,
    next: { at: Date; transientFailures: number; error: string | null },
  ): Promise<boolean> {
    const n = await this.prisma.$executeRaw`
      UPDATE call_requests SET status = 'pending', attempts = ${claim.attempt - 1},
        call_id = ${previousCallId(claim)}::uuid, claim_token = NULL, checked_at = NULL,
        next_attempt_at = ${next.at}, transient_failures = ${next.transientFailures},
        error = ${next.error}, updated_at = now()
      WHERE id = ${claim.id}::uuid AND status = 'dialing' AND claim_token = ${claim.token}::uuid`;
    return n === 1;
  }

  /**
   * Ends a request whose attempt cannot be placed (Twilio refused it, bad configuration):
   * `failed`, or `rejected` with `issues` (do-not-call found at dial time). The attempt is not
   * counted: no call was made.
   */
  async finish(
    claim: ClaimedRequest,
    outcome: { status: 'failed' | 'rejected'; error: string; issues?: ValidationIssue[] },
  ): Promise<boolean> {
    const issues = outcome.issues ? JSON.stringify(outcome.issues) : null;
    const n = await this.prisma.$executeRaw`
      UPDATE call_requests SET status = ${outcome.status}::call_request_status,
        attempts = ${claim.attempt - 1}, call_id = ${previousCallId(claim)}::uuid,
        claim_token = NULL, checked_at = NULL, error = ${outcome.error},
        issues = ${issues}::jsonb, finished_at = now(), updated_at = now()
      WHERE id = ${claim.id}::uuid AND status = 'dialing' AND claim_token = ${claim.token}::uuid`;
    return n === 1;
  }

  /**
   * Applies the end of a call to the request it belongs to: a retry after the backoff, or
   * `failed`, `completed`, `canceled`. Null when the call is not one of ours, or its end was
   * applied already (a redelivery).
   */
  async applyEnd(
    callId: string,
    reason: string,
    defaults: RetryPolicy,
    now: Date = new Date(),
  ): Promise<{ requestId: string; attempt: number; decision: EndDecision } | null> {
    return this.prisma.$transaction(async (tx) => {
      const [row] = await tx.$queryRaw<
        Array<{ id: string; attempts: number; retry_policy: unknown }>
      >`
        SELECT id::text, attempts, retry_policy FROM call_requests
        WHERE call_id = ${callId}::uuid AND status IN ('dialing', 'dialed')
        FOR UPDATE`;
      if (!row) return null;
      const own = row.retry_policy === null ? null : readStoredRetryPolicy(row.retry_policy);
      const decision = decideAfterEnd(reason, row.attempts, policyFor(defaults, own), now);
      const nextAttemptAt = decision.status === 'pending' ? decision.nextAttemptAt : null;
      const error = decision.status === 'failed' ? decision.error : null;
      await tx.$executeRaw`
        UPDATE call_requests SET status = ${decision.status}::call_request_status,
          last_outcome = ${reason}, claim_token = NULL, checked_at = NULL,
          next_attempt_at = coalesce(${nextAttemptAt}::timestamptz, next_attempt_at),
          error = ${error},
          finished_at = CASE WHEN ${decision.status} = 'pending' THEN NULL ELSE now() END,
          updated_at = now()
        WHERE id = ${row.id}::uuid`;
      return { requestId: row.id, attempt: row.attempts, decision };
    });
  }

  /**
   * Takes over up to `limit` requests left `dialing` since before `staleBefore` (their dialer
   * died or lost track): a new claim token fences the old holder out. `since` is when the old
   * holder last stamped it: a call it created is at Twilio from about then.
   */
  async takeOverStale(staleBefore: Date, limit: number, pod: string): Promise<ClaimedRequest[]> {
    const rows = await this.prisma.$queryRaw<ClaimRow[]>`
      UPDATE call_requests AS t SET claim_token = gen_random_uuid(), claimed_by = ${pod},
        checked_at = now(), updated_at = now()
      FROM (SELECT id, checked_at FROM call_requests
            WHERE status = 'dialing' AND checked_at < ${staleBefore}
            ORDER BY checked_at LIMIT ${limit} FOR UPDATE SKIP LOCKED) AS old
      WHERE t.id = old.id
      RETURNING ${CLAIM_COLUMNS}, old.checked_at AS since`;
    return rows.map(toClaim);
  }

  /** Up to `limit` `dialed` requests not checked since `staleBefore`, stamped as checked now. */
  async takeLongDialed(staleBefore: Date, limit: number): Promise<DialedRequest[]> {
    const rows = await this.prisma.$queryRaw<
      Array<{ id: string; call_id: string; provider_call_sid: string | null }>
    >`
      UPDATE call_requests AS t SET checked_at = now(), updated_at = now()
      FROM (SELECT id FROM call_requests
            WHERE status = 'dialed' AND checked_at < ${staleBefore} AND call_id IS NOT NULL
            ORDER BY checked_at LIMIT ${limit} FOR UPDATE SKIP LOCKED) AS old
      WHERE t.id = old.id
      RETURNING t.id::text, t.call_id::text, t.provider_call_sid`;
    return rows.map((r) => ({ id: r.id, callId: r.call_id, providerCallSid: r.provider_call_sid }));
  }

  /**
   * Which of these Twilio CallSids belong to a call of ours, and to which call id: from the
   * requests' last attempts and from the projected call records (every earlier attempt).
   */
  async ownersOf(sids: readonly string[]): Promise<Map<string, string>> {
    if (sids.length === 0) return new Map();
    const rows = await this.prisma.$queryRaw<Array<{ sid: string; call_id: string }>>`
      SELECT provider_call_sid AS sid, call_id::text FROM call_requests
        WHERE provider_call_sid = ANY(${sids}) AND call_id IS NOT NULL
      UNION
      SELECT twilio_call_sid AS sid, id::text AS call_id FROM calls
        WHERE twilio_call_sid = ANY(${sids})`;
    return new Map(rows.map((r) => [r.sid, r.call_id]));
  }
}
