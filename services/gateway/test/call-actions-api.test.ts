/**
 * `POST /v1/calls/:id/hangup` and `/transfer` against real NATS and PostgreSQL. The hang-up goes
 * to a stand-in for the call's bridge (the `call-control.<callId>` responder, the other side's
 * contract); the transfer goes to the real handoff service, started in-process, which routes a
 * SIP call to an available human and REFERs it through that same stand-in bridge.
 */
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { Subscription } from '@nats-io/transport-node';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  callEventSchema,
  serveEndpoint,
  type CallControlCommand,
  type CallEvent,
  type Names,
} from '@app/contracts';
import { createPrismaClient, type PrismaClient } from '@app/db';
import { createTestDatabase, type TestDatabase } from '@app/db/testing';
import { startHandoff, type RunningHandoff } from '@app/handoff';
import { captureLogs, natsTestNamespace, type NatsTestNamespace } from '@app/platform/testing';

import { createApiKey, PrismaApiKeyStore } from '../src/adapters/api-keys.js';
import { callActionsApiRoutes } from '../src/routes/call-actions-api.js';

let ns: NatsTestNamespace;
let names: Names;
let jsm: JetStreamManager;
let db: TestDatabase;
let prisma: PrismaClient;
let app: FastifyInstance;
let handoff: RunningHandoff;
let agentId: string;
const keys = { operator: '', viewer: '' };
let operatorPrefix: string;
const bridges: Subscription[] = [];

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined } as never;

/** Serves `call-control.<callId>` as the call's bridge would, recording each command. */
function standInBridge(callId: string): CallControlCommand[] {
  const commands: CallControlCommand[] = [];
  bridges.push(
    serveEndpoint({
      nc: ns.nc,
      names,
      endpoint: 'call-control',
      callId,
      queue: null,
      logger: quiet,
      handler: (req) => {
        commands.push(req.data);
        return { ok: true };
      },
    }),
  );
  return commands;
}

async function liveCall(transport: 'sip' | 'media_streams' = 'sip'): Promise<string> {
  const row = await prisma.call.create({
    data: {
      direction: 'inbound',
      transport,
      fromNumber: '+15555550142',
      toNumber: '+15555550100',
      status: 'in_progress',
      answeredAt: new Date(),
      agentId,
    },
  });
  return row.id;
}

function post(url: string, body?: unknown, key: string | null = keys.operator) {
  return app.inject({
    method: 'POST',
    url,
    headers: {
      ...(key !== null ? { authorization: `Bearer ${key}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
  });
}

async function until<T>(check: () => Promise<T | undefined> | T | undefined): Promise<T> {
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The call's events in the CALLS stream, oldest first. */
async function eventsOf(callId: string): Promise<CallEvent[]> {
  const stream = names.streams.calls.name;
  const info = await jsm.streams.info(stream);
  const out: CallEvent[] = [];
  for (let seq = info.state.first_seq; seq > 0 && seq <= info.state.last_seq; seq++) {
    const msg = await jsm.streams.getMessage(stream, { seq }).catch(() => null);
    if (!msg) continue;
    const event = callEventSchema.parse(msg.json());
    if (event.callId === callId) out.push(event);
  }
  return out;
}

beforeAll(async () => {
  ns = await natsTestNamespace();
  names = ns.names;
  jsm = await jetstreamManager(ns.nc);
  db = await createTestDatabase();
  prisma = createPrismaClient({ databaseUrl: db.databaseUrl, poolMax: 6 });
  const operator = await createApiKey(prisma, { name: 'actions-operator', role: 'operator' });
  keys.operator = operator.key;
  operatorPrefix = operator.prefix;
  keys.viewer = (await createApiKey(prisma, { name: 'actions-viewer', role: 'viewer' })).key;
  agentId = (await prisma.agent.create({ data: { name: 'Actions', instructions: 'Hi.' } })).id;
  handoff = await startHandoff({
    nc: ns.nc,
    names,
    prisma,
    twilio: null,
    webhook: null,
    settings: { transferDelayMs: 0, controlTimeoutMs: 3_000 },
    log: captureLogs().log,
  });
  app = Fastify({ loggerInstance: captureLogs().log as FastifyBaseLogger });
  await app.register(callActionsApiRoutes, {
    apiKeys: new PrismaApiKeyStore(prisma),
    prisma,
    nc: ns.nc,
    names,
    controlTimeoutMs: 3_000,
  });
  await app.ready();
}, 30_000);

afterAll(async () => {
  for (const b of bridges) b.unsubscribe();
  await app?.close();
  await handoff?.stop();
  await prisma?.$disconnect();
  await db?.drop();
  await ns?.close();
});

describe('POST /v1/calls/:id/hangup', () => {
  it("asks the call's bridge to hang up, and audits it", async () => {
    const callId = await liveCall();
    const commands = standInBridge(callId);
    const res = await post(`/v1/calls/${callId}/hangup`);
    expect(res.statusCode).toBe(202);
    expect(res.json()).toEqual({ ok: true });
    expect(commands).toEqual([{ action: 'hangup', reason: 'operator-hangup' }]);
    const audit = await prisma.auditLog.findMany({ where: { resourceId: callId } });
    expect(audit).toMatchObject([
      {
        action: 'call.hangup',
        actor: `api-key:${operatorPrefix}`,
        resourceType: 'call',
        before: { status: 'in_progress' },
        after: { reason: 'operator-hangup', result: { ok: true } },
      },
    ]);
  });

  it('answers 409 for a call no bridge owns or that is over, 404 for an unknown one', async () => {
    const orphan = await liveCall();
    const noOwner = await post(`/v1/calls/${orphan}/hangup`);
    expect(noOwner.statusCode).toBe(409);
    expect(noOwner.json<{ error: string }>().error).toMatch(/no call-bridge owns/);

    const ended = await prisma.call.create({
      data: {
        direction: 'outbound',
        fromNumber: '+15555550100',
        toNumber: '+15555550143',
        status: 'completed',
        endedAt: new Date(),
        endReason: 'completed',
      },
    });
    standInBridge(ended.id);
    const over = await post(`/v1/calls/${ended.id}/hangup`);
    expect(over.statusCode).toBe(409);
    expect(over.json()).toMatchObject({ status: 'completed' });

    expect((await post('/v1/calls/9b2f7c1e-0000-4000-8000-000000000000/hangup')).statusCode).toBe(
      404,
    );
    expect((await post('/v1/calls/not-a-uuid/hangup')).statusCode).toBe(404);
    // Nothing reached a call: nothing audited.
    expect(await prisma.auditLog.count({ where: { resourceId: { in: [orphan, ended.id] } } })).toBe(
      0,
    );
  });

  it('refuses anonymous callers (401) and viewers (403)', async () => {
    const callId = await liveCall();
    const commands = standInBridge(callId);
    const anonymous = await post(`/v1/calls/${callId}/hangup`, undefined, null);
    expect(anonymous.statusCode).toBe(401);
    const viewer = await post(`/v1/calls/${callId}/hangup`, undefined, keys.viewer);
    expect(viewer.statusCode).toBe(403);
    expect(viewer.json<{ error: string }>().error).toMatch(/viewer may not act on calls/);
    const transfer = await post(`/v1/calls/${callId}/transfer`, {}, keys.viewer);
    expect(transfer.statusCode).toBe(403);
    expect(commands).toEqual([]);
  });
});

describe('POST /v1/calls/:id/transfer', () => {
  it('hands the call to an available human through the handoff service (trigger operator), and audits it', async () => {
    const human = await prisma.humanAgent.create({
      data: {
        name: 'Olive Operator',
        skills: ['billing'],
        sipUri: 'sip:olive@pbx.example.com',
        status: 'available',
        availableSince: new Date(),
      },
    });
    const callId = await liveCall('sip');
    const commands = standInBridge(callId);
    const res = await post(`/v1/calls/${callId}/transfer`, {
      skill: 'billing',
      reason: 'caller disputes a charge',
    });
    expect(res.statusCode).toBe(202);
    const body = res.json<{ status: string; handoffId: string; target: string }>();
    expect(body).toMatchObject({ status: 'accepted', target: 'sip:olive@pbx.example.com' });

    const row = await prisma.handoff.findUniqueOrThrow({ where: { id: body.handoffId } });
    expect(row).toMatchObject({
      callId,
      trigger: 'operator',
      skill: 'billing',
      mode: 'cold',
      reason: 'caller disputes a charge',
      humanAgentId: human.id,
    });
    // The handoff service REFERs the SIP call through its bridge.
    await until(() => (commands.length > 0 ? true : undefined));
    expect(commands[0]).toEqual({
      action: 'transfer',
      target: 'sip:olive@pbx.example.com',
      mode: 'cold',
    });
    const requested = await until(async () =>
      (await eventsOf(callId)).find((e) => e.type === 'call.handoff-requested'),
    );
    expect(requested.data).toMatchObject({ trigger: 'operator', handoffId: body.handoffId });

    const audit = await prisma.auditLog.findMany({ where: { resourceId: callId } });
    expect(audit).toMatchObject([
      {
        action: 'call.transfer',
        actor: `api-key:${operatorPrefix}`,
        after: {
          trigger: 'operator',
          skill: 'billing',
          mode: 'cold',
          result: { status: 'accepted', handoffId: body.handoffId },
        },
      },
    ]);
  }, 30_000);

  it('answers 409 with the reason when no human is available, and audits the attempt', async () => {
    const callId = await liveCall('sip');
    const res = await post(`/v1/calls/${callId}/transfer`, { skill: 'nobody-has-this' });
    expect(res.statusCode).toBe(409);
    expect(res.json<{ reason: string }>().reason).toMatch(/human/i);
    const row = await prisma.handoff.findFirstOrThrow({ where: { callId } });
    expect(row).toMatchObject({ trigger: 'operator', status: 'failed' });
    expect(
      await prisma.auditLog.count({ where: { resourceId: callId, action: 'call.transfer' } }),
    ).toBe(1);
  }, 30_000);

  it('refuses a bad body with every issue, and an ended call', async () => {
    const callId = await liveCall('sip');
    const bad = await post(`/v1/calls/${callId}/transfer`, {
      skill: 'Not A Skill',
      mode: 'lukewarm',
      extra: 1,
    });
    expect(bad.statusCode).toBe(400);
    const fields = bad.json<{ issues: Array<{ field: string }> }>().issues.map((i) => i.field);
    expect(fields).toEqual(expect.arrayContaining(['skill', 'mode', '(body)']));

    await prisma.call.update({
      where: { id: callId },
      data: { status: 'completed', endedAt: new Date() },
    });
    const over = await post(`/v1/calls/${callId}/transfer`, {});
    expect(over.statusCode).toBe(409);
    expect(await prisma.handoff.count({ where: { callId } })).toBe(0);
  });
});
