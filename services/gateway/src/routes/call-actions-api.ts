/**
 * Operator actions on a live call, from the dashboard:
 *
 * - `POST /v1/calls/:id/hangup`: `call-control` `hangup` (reason `operator-hangup`) to the
 *   bridge that owns the call. 202 `{ ok: true }`.
 * - `POST /v1/calls/:id/transfer` `{ skill?, reason?, mode? }`: `handoff.transfer` with trigger
 *   `operator`; the handoff service picks the human and moves the call. 202 with its answer
 *   `{ status: 'accepted', handoffId, target? }`.
 *
 * Refusals: 404 unknown call; 409 a call that is over, that no bridge owns (nobody answers on
 * `call-control.<id>`), that its bridge could not hang up, or that the handoff service refused
 * (no human available…), with its reason; 503 when the bus or the service does not answer.
 * Writers only (`admin`, `operator`); each action that reached the call's owner is audited
 * (`call.hangup`, `call.transfer`) with what it asked and what came back.
 */
import { NoRespondersError, RequestError, type NatsConnection } from '@nats-io/transport-node';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';

import {
  request as busRequest,
  callControlRequest,
  CallEndReason,
  handoffTransferRequest,
  type Names,
} from '@app/contracts';
import type { Prisma, PrismaClient } from '@app/db';

import type { ApiKeyStore } from '../adapters/api-keys.js';
import { PrismaLiveCalls } from '../adapters/live-calls.js';
import { adminResourceAuth } from './api-key-auth.js';
import { describeRoute } from './route-docs.js';

export interface CallActionsApiOptions {
  apiKeys: ApiKeyStore;
  prisma: PrismaClient;
  nc: NatsConnection;
  names: Names;
  /** Longest wait for the bridge's `call-control` reply, ms. @defaultValue 5 000 */
  controlTimeoutMs?: number;
  /** Longest wait for the handoff service's decision (it claims a human first), ms. @defaultValue 10 000 */
  transferTimeoutMs?: number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const BODY_LIMIT = 4 * 1024;

export const HANGUP_REASON = CallEndReason.OperatorHangup;
const DEFAULT_TRANSFER_REASON = 'operator transfer';

export const callActionParamsSchema = z.object({ id: z.string().describe('the call id (UUID)') });

/** The body of a transfer; every field has a default, so `{}` (or no body) transfers. */
export const callTransferBodySchema = z.strictObject({
  skill: z
    .string()
    .regex(
      /^[a-z0-9][a-z0-9_-]{0,63}$/,
      'a skill is lowercase letters, digits, - or _ (at most 64)',
    )
    .optional()
    .describe('route to a human with this skill; absent: any available human'),
  reason: z
    .string()
    .trim()
    .min(1)
    .max(500)
    .optional()
    .describe(`what the human is told; default "${DEFAULT_TRANSFER_REASON}"`),
  mode: z
    .enum(['cold', 'warm'])
    .optional()
    .describe('cold (default): the call goes straight to the human; warm: the human is briefed'),
});

const errorSchema = z.object({ error: z.string() });
const hangupResultSchema = z.object({ ok: z.literal(true) });
const transferResultSchema = z.object({
  status: z.literal('accepted'),
  handoffId: z.string(),
  target: z.string().optional(),
});

type Issue = { field: string; code: string; message: string };

function issuesOf(error: z.ZodError): Issue[] {
  return error.issues.map((i) => ({
    field: i.path.map(String).join('.') || '(body)',
    code: i.code === 'unrecognized_keys' ? 'unknown_field' : 'invalid_field',
    message: i.message,
  }));
}

/** No bridge subscribed to the call's subject: the NATS client's "no responders". */
const isNoResponders = (err: unknown): boolean =>
  err instanceof NoRespondersError || (err instanceof RequestError && err.isNoResponders());

export async function callActionsApiRoutes(
  app: FastifyInstance,
  opts: CallActionsApiOptions,
): Promise<void> {
  const { prisma, nc, names } = opts;
  const calls = new PrismaLiveCalls(prisma);
  const controlTimeoutMs = opts.controlTimeoutMs ?? 5_000;
  const transferTimeoutMs = opts.transferTimeoutMs ?? 10_000;
  const actor = adminResourceAuth(app, {
    apiKeys: opts.apiKeys,
    actionFor: () => 'act on calls',
    failureLog: 'call action failed',
  });

  /** The call, if it exists and is live; else the reply has been sent. */
  async function liveCall(
    request: FastifyRequest,
    reply: FastifyReply,
  ): Promise<{ id: string; status: string } | null> {
    const { id } = request.params as { id: string };
    const state = UUID.test(id) ? await calls.state(id) : null;
    if (state === null) {
      await reply.code(404).send({ error: 'call not found' });
      return null;
    }
    if (!state.live) {
      await reply
        .code(409)
        .send({ error: `the call is ${state.status}: it is over`, status: state.status });
      return null;
    }
    return { id, status: state.status };
  }

  const audit = (
    request: FastifyRequest,
    action: 'call.hangup' | 'call.transfer',
    callId: string,
    before: Record<string, unknown>,
    after: Record<string, unknown>,
  ) =>
    prisma.auditLog.create({
      data: {
        actor: actor(request),
        action,
        resourceType: 'call',
        resourceId: callId,
        before: before as Prisma.InputJsonObject,
        after: JSON.parse(JSON.stringify(after)) as Prisma.InputJsonObject,
      },
      select: { id: true },
    });

  const unavailable = (reply: FastifyReply, what: string) =>
    reply
      .code(503)
      .header('retry-after', '1')
      .send({ error: `${what}, retry later` });

  app.post(
    '/v1/calls/:id/hangup',
    {
      ...describeRoute({
        tags: ['Calls'],
        summary: 'Hang up a live call',
        description:
          'Asks the call-bridge that owns the call to end it (reason `operator-hangup`). ' +
          'Needs role admin or operator; audited as `call.hangup`.',
        params: callActionParamsSchema,
        response: {
          202: hangupResultSchema,
          404: errorSchema,
          409: errorSchema,
          503: errorSchema,
        },
      }),
    },
    async (request, reply) => {
      const call = await liveCall(request, reply);
      if (call === null) return reply;
      let result;
      try {
        const answer = await busRequest(
          nc,
          names,
          'call-control',
          callControlRequest(call.id, { action: 'hangup', reason: HANGUP_REASON }),
          { timeoutMs: controlTimeoutMs },
        );
        result = answer.data;
      } catch (err) {
        if (isNoResponders(err)) {
          return reply.code(409).send({ error: 'no call-bridge owns this call: it is not live' });
        }
        request.log.error({ err, callId: call.id }, 'hangup not delivered');
        return unavailable(reply, 'the call-bridge did not answer');
      }
      await audit(
        request,
        'call.hangup',
        call.id,
        { status: call.status },
        {
          reason: HANGUP_REASON,
          result,
        },
      );
      if (!result.ok) {
        return reply.code(409).send({
          error: `the call was not hung up: ${result.error.message}`,
          code: result.error.code,
        });
      }
      request.log.info({ callId: call.id }, 'call hung up by an operator');
      return reply.code(202).send({ ok: true });
    },
  );

  app.post(
    '/v1/calls/:id/transfer',
    {
      bodyLimit: BODY_LIMIT,
      ...describeRoute({
        tags: ['Calls'],
        summary: 'Transfer a live call to a human agent',
        description:
          'Asks the handoff service for a human (trigger `operator`): the available human with ' +
          'the skill who has been idle longest. Needs role admin or operator; audited as ' +
          '`call.transfer`.',
        params: callActionParamsSchema,
        body: callTransferBodySchema,
        response: {
          202: transferResultSchema,
          400: { description: 'invalid body: `{ error, issues }`' },
          404: errorSchema,
          409: errorSchema,
          503: errorSchema,
        },
      }),
    },
    async (request, reply) => {
      const parsed = callTransferBodySchema.safeParse(request.body ?? {});
      if (!parsed.success) {
        return reply.code(400).send({ error: 'invalid transfer', issues: issuesOf(parsed.error) });
      }
      const call = await liveCall(request, reply);
      if (call === null) return reply;
      const asked = {
        reason: parsed.data.reason ?? DEFAULT_TRANSFER_REASON,
        mode: parsed.data.mode ?? 'cold',
        trigger: 'operator',
        ...(parsed.data.skill !== undefined ? { skill: parsed.data.skill } : {}),
      } as const;
      let result;
      try {
        const answer = await busRequest(
          nc,
          names,
          'handoff-transfer',
          handoffTransferRequest(call.id, asked),
          { timeoutMs: transferTimeoutMs },
        );
        result = answer.data;
      } catch (err) {
        request.log.error({ err, callId: call.id }, 'transfer not delivered');
        return unavailable(reply, 'the handoff service did not answer');
      }
      await audit(request, 'call.transfer', call.id, { status: call.status }, { ...asked, result });
      if (result.status === 'rejected') {
        return reply
          .code(409)
          .send({ error: `the transfer was refused: ${result.reason}`, reason: result.reason });
      }
      request.log.info(
        { callId: call.id, handoffId: result.handoffId },
        'call transferred by an operator',
      );
      return reply.code(202).send(result);
    },
  );
}
