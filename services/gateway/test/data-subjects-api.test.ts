/**
 * A caller's data export and erasure against real PostgreSQL and NATS: the export holds every
 * record about the number and nothing about anyone else; the erasure deletes or masks all of it
 * (keeping the do-not-call entry unless asked), purges its calls' events from the CALLS stream,
 * leaves other callers alone, is refused while a call is live, and both are audited without the
 * number. With NATS unreachable the database erasure stands, the answer says the stream purge
 * is pending, and erasing again purges it.
 */
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { callEvent, publishEvent } from '@app/contracts';
import { natsTestNamespace, type NatsTestNamespace } from '@app/platform/testing';

import { JetStreamCallEventPurge, type CallEventPurge } from '../src/adapters/call-event-purge.js';
import { dataSubjectsApiRoutes } from '../src/routes/data-subjects-api.js';
import { adminApiFixture, fieldsOf, type AdminApiFixture } from './admin-api-fixture.js';

let f: AdminApiFixture;
let ns: NatsTestNamespace;
let jsm: JetStreamManager;
/** The real adapter the route purges with; a test swaps in one on a closed connection. */
let purgeWith: CallEventPurge;

beforeAll(async () => {
  ns = await natsTestNamespace();
  jsm = await jetstreamManager(ns.nc);
  purgeWith = new JetStreamCallEventPurge(ns.nc, ns.names);
  const callEventPurge: CallEventPurge = {
    get maxAgeMs() {
      return purgeWith.maxAgeMs;
    },
    purge: (callIds) => purgeWith.purge(callIds),
  };
  f = await adminApiFixture([
    (app, opts) => dataSubjectsApiRoutes(app, { ...opts, callEventPurge }),
  ]);
});

afterAll(async () => {
  await f?.close();
  await ns?.close();
});

/** Publishes two events of the call to the CALLS stream, one holding `number`. */
async function publishEventsOf(callId: string, number: string) {
  const js = jetstream(ns.nc);
  await publishEvent(
    js,
    ns.names,
    callEvent('transcript', callId, { role: 'caller', text: `call me on ${number}`, final: true }),
  );
  await publishEvent(js, ns.names, callEvent('ended', callId, { reason: 'completed' }));
}

/** Messages of the call left in the CALLS stream. */
async function storedEvents(callId: string): Promise<number> {
  const info = await jsm.streams.info(ns.names.streams.calls.name, {
    subjects_filter: ns.names.subjects.callEventsOf(callId),
  });
  return Object.values(info.state.subjects ?? {}).reduce((sum, n) => sum + n, 0);
}

const OURS = '+14155550100';
const SUBJECT = '+14155550199';
const OTHER = '+14155550188';
const enc = encodeURIComponent;

type Export = {
  phone: string;
  calls: Array<{
    id: string;
    fromNumber: string;
    toNumber: string;
    events: unknown[];
    transcriptTurns: Array<{ text: string }>;
    toolInvocations: unknown[];
    handoffs: unknown[];
  }>;
  consentRecords: Array<{ purpose: string }>;
  doNotCall: { phone: string } | null;
  campaignContacts: Array<{ phone: string }>;
  callRequests: Array<{ toNumber: string }>;
};

/** A finished call between `from` and `to` with an event, a turn, a tool call and a handoff. */
async function callWith(from: string, to: string, direction: 'inbound' | 'outbound') {
  const call = await f.prisma.call.create({
    data: {
      direction,
      fromNumber: from,
      toNumber: to,
      status: 'completed',
      endedAt: new Date(),
      variables: { name: 'Ada' },
    },
  });
  await f.prisma.callEvent.create({
    data: {
      eventId: `${call.id}-e`,
      callId: call.id,
      type: 'created',
      ts: new Date(),
      data: { from },
    },
  });
  await f.prisma.transcriptTurn.create({
    data: {
      callId: call.id,
      role: 'user',
      text: `I am ${from}`,
      sequence: 0,
      sourceEventId: `${call.id}-t`,
    },
  });
  await f.prisma.toolInvocation.create({
    data: { invocationId: `${call.id}-i`, callId: call.id, name: 'lookup', args: { from } },
  });
  await f.prisma.handoff.create({
    data: {
      callId: call.id,
      reason: 'asked for Bob',
      trigger: 'agent_tool',
      summary: 'Ada, refund',
    },
  });
  return call.id;
}

describe('data subjects API', { timeout: 60_000 }, () => {
  it('exports and erases everything about one number, audited without it', async () => {
    const agent = await f.prisma.agent.create({ data: { name: 'Desk', instructions: 'x' } });
    await f.prisma.phoneNumber.create({ data: { e164: OURS, agentId: agent.id } });
    const inbound = await callWith(SUBJECT, OURS, 'inbound');
    const outbound = await callWith(OURS, SUBJECT, 'outbound');
    const other = await callWith(OTHER, OURS, 'inbound');
    await f.prisma.consentRecord.create({
      data: { phone: SUBJECT, purpose: 'marketing_calls', method: 'verbal', callId: inbound },
    });
    await f.prisma.consentRecord.create({
      data: { phone: OTHER, purpose: 'marketing_calls', method: 'verbal' },
    });
    await f.prisma.doNotCallEntry.create({ data: { phone: SUBJECT, source: 'voice' } });
    const campaign = await f.prisma.campaign.create({ data: { name: 'C', agentId: agent.id } });
    await f.prisma.campaignContact.createMany({
      data: [
        { campaignId: campaign.id, phone: SUBJECT, name: 'Ada' },
        { campaignId: campaign.id, phone: OTHER, name: 'Eve' },
      ],
    });
    const done = await f.prisma.callRequest.create({
      data: {
        idempotencyKey: 'done',
        origin: 'api',
        toNumber: SUBJECT,
        status: 'completed',
        variables: { name: 'Ada' },
      },
    });
    const pending = await f.prisma.callRequest.create({
      data: { idempotencyKey: 'pending', origin: 'api', toNumber: SUBJECT },
    });

    // A live call with the number: erasing now would let its next events store new data.
    const live = await f.prisma.call.create({
      data: { direction: 'inbound', fromNumber: SUBJECT, toNumber: OURS, status: 'in_progress' },
    });

    for (const id of [inbound, outbound, live.id]) await publishEventsOf(id, SUBJECT);
    await publishEventsOf(other, OTHER);
    expect(await storedEvents(inbound)).toBe(2);

    // Export: every record about the number, nothing about the other caller.
    const res = await f.call('GET', `/v1/data-subjects/${enc(SUBJECT)}/export`, undefined, 'admin');
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    const data = res.json<Export>();
    expect(data.phone).toBe(SUBJECT);
    expect(data.calls.map((c) => c.id).sort()).toEqual([inbound, outbound, live.id].sort());
    const first = data.calls.find((c) => c.id === inbound);
    expect(first?.transcriptTurns).toMatchObject([{ text: `I am ${SUBJECT}` }]);
    expect([first?.events.length, first?.toolInvocations.length, first?.handoffs.length]).toEqual([
      1, 1, 1,
    ]);
    expect(data.consentRecords).toMatchObject([{ purpose: 'marketing_calls', phone: SUBJECT }]);
    expect(data.doNotCall).toMatchObject({ phone: SUBJECT });
    expect(data.campaignContacts).toMatchObject([{ phone: SUBJECT, name: 'Ada' }]);
    expect(data.callRequests.map((r) => r.toNumber)).toEqual([SUBJECT, SUBJECT]);
    expect(JSON.stringify(data)).not.toContain(OTHER);

    const refused = await f.call('POST', `/v1/data-subjects/${enc(SUBJECT)}/erase`, {}, 'admin');
    expect(refused.statusCode).toBe(409);
    expect(refused.json<{ error: string }>().error).toMatch(/in progress/);
    await f.prisma.call.update({
      where: { id: live.id },
      data: { status: 'completed', endedAt: new Date() },
    });

    const erased = await f.call('POST', `/v1/data-subjects/${enc(SUBJECT)}/erase`, {}, 'admin');
    expect(erased.statusCode).toBe(200);
    expect(erased.json()).toEqual({
      phone: '+14***99',
      erased: {
        callEvents: 2,
        transcriptTurns: 2,
        toolInvocations: 2,
        handoffs: 2,
        calls: 3,
        consentRecords: 1,
        campaignContacts: 1,
        callRequests: 2,
      },
      doNotCall: 'kept',
      streamPurged: true,
      streamPurge: { status: 'purged', calls: 3, messages: 6 },
    });
    // Its calls' copies in the CALLS stream are gone; the other caller's stay.
    for (const id of [inbound, outbound, live.id]) expect(await storedEvents(id)).toBe(0);
    expect(await storedEvents(other)).toBe(2);

    // The calls stay, anonymous; their content is gone.
    for (const id of [inbound, outbound]) {
      const call = await f.prisma.call.findUniqueOrThrow({
        where: { id },
        include: { events: true, transcriptTurns: true, toolInvocations: true, handoffs: true },
      });
      expect([call.fromNumber, call.toNumber].sort()).toEqual(['+14***99', OURS].sort());
      expect(call.variables).toBeNull();
      expect([call.events, call.transcriptTurns, call.toolInvocations]).toEqual([[], [], []]);
      expect(call.handoffs).toMatchObject([{ reason: 'erased on request', summary: null }]);
    }
    expect(await f.prisma.consentRecord.count({ where: { phone: SUBJECT } })).toBe(0);
    expect(await f.prisma.campaignContact.count({ where: { phone: SUBJECT } })).toBe(0);
    expect(await f.prisma.callRequest.findUniqueOrThrow({ where: { id: done.id } })).toMatchObject({
      toNumber: '+14***99',
      variables: {},
      status: 'completed',
    });
    expect(
      await f.prisma.callRequest.findUniqueOrThrow({ where: { id: pending.id } }),
    ).toMatchObject({ toNumber: '+14***99', status: 'canceled', error: 'erased on request' });
    expect(await f.prisma.doNotCallEntry.count({ where: { phone: SUBJECT } })).toBe(1);

    // Another caller's data is untouched.
    const untouched = await f.prisma.call.findUniqueOrThrow({
      where: { id: other },
      include: { events: true, transcriptTurns: true },
    });
    expect(untouched).toMatchObject({ fromNumber: OTHER, variables: { name: 'Ada' } });
    expect([untouched.events.length, untouched.transcriptTurns.length]).toEqual([1, 1]);
    expect(await f.prisma.consentRecord.count({ where: { phone: OTHER } })).toBe(1);
    expect(await f.prisma.campaignContact.count({ where: { phone: OTHER } })).toBe(1);

    // What is left about the number: its do-not-call entry; then, asked, that goes too.
    const after = (
      await f.call('GET', `/v1/data-subjects/${enc(SUBJECT)}/export`, undefined, 'admin')
    ).json<Export>();
    expect(after).toMatchObject({
      calls: [],
      consentRecords: [],
      campaignContacts: [],
      callRequests: [],
      doNotCall: { phone: SUBJECT },
    });
    const removed = await f.call(
      'POST',
      `/v1/data-subjects/${enc(SUBJECT)}/erase`,
      { removeDoNotCall: true },
      'admin',
    );
    // The masked calls are found again, so the stream is purged again (nothing left there).
    expect(removed.json()).toMatchObject({
      doNotCall: 'removed',
      erased: { calls: 0 },
      streamPurged: true,
      streamPurge: { status: 'purged', calls: 3, messages: 0 },
    });
    expect(await storedEvents(other)).toBe(2);
    expect(await f.prisma.doNotCallEntry.count({ where: { phone: SUBJECT } })).toBe(0);

    // Audited: who, what, the masked number and counts; the full number in no audit row.
    const audit = await f.prisma.auditLog.findMany({
      where: { resourceType: 'data_subject' },
      orderBy: { at: 'asc' },
    });
    expect(audit.map((a) => [a.action, a.resourceId])).toEqual([
      ['data_subject.export', '+14***99'],
      ['data_subject.erase', '+14***99'],
      ['data_subject.stream_purge', '+14***99'],
      ['data_subject.export', '+14***99'],
      ['data_subject.erase', '+14***99'],
      ['data_subject.stream_purge', '+14***99'],
    ]);
    expect(audit[0]?.actor).toMatch(/^api-key:vpk_/);
    expect(audit[0]?.after).toMatchObject({ calls: 3, consentRecords: 1, doNotCall: true });
    expect(audit[2]?.after).toEqual({ status: 'purged', calls: 3, messages: 6 });
    const leaks = await f.prisma.$queryRaw<Array<{ n: number }>>`
      SELECT count(*)::int AS n FROM audit_logs
      WHERE concat(resource_id, before::text, after::text) LIKE ${'%4155550199%'}`;
    expect(leaks).toEqual([{ n: 0 }]);
  });

  it('erases the database with NATS unreachable, says the stream purge is pending, and purges on the next erase', async () => {
    const NUMBER = '+14155550166';
    const call = await callWith(NUMBER, OURS, 'inbound');
    const bystander = await callWith(OTHER, OURS, 'inbound');
    await publishEventsOf(call, NUMBER);
    await publishEventsOf(bystander, OTHER);

    const dead = await connect({ servers: 'nats://127.0.0.1:4222' });
    await dead.close();
    const working = purgeWith;
    purgeWith = new JetStreamCallEventPurge(dead, ns.names);
    const first = await f
      .call('POST', `/v1/data-subjects/${enc(NUMBER)}/erase`, {}, 'admin')
      .finally(() => {
        purgeWith = working;
      });
    expect(first.statusCode).toBe(200);
    const body = first.json<{
      erased: { calls: number; callEvents: number };
      streamPurged: boolean;
      streamPurge: { status: string; calls: number; messages: number; retry?: string };
    }>();
    // The database erasure happened; the stream still holds the copies, and the answer says so.
    expect(body.erased).toMatchObject({ calls: 1, callEvents: 1 });
    expect(body.streamPurged).toBe(false);
    expect(body.streamPurge).toMatchObject({ status: 'pending', calls: 1, messages: 0 });
    expect(body.streamPurge.retry).toMatch(/could not purge call events.*erase this number again/s);
    expect(
      await f.prisma.call.findUniqueOrThrow({ where: { id: call }, select: { fromNumber: true } }),
    ).toEqual({ fromNumber: '+14***66' });
    expect(await storedEvents(call)).toBe(2);

    // Erasing again finds the call by its masked number and purges the stream.
    const second = await f.call('POST', `/v1/data-subjects/${enc(NUMBER)}/erase`, {}, 'admin');
    expect(second.json()).toMatchObject({
      erased: { calls: 0, callEvents: 0 },
      streamPurged: true,
      streamPurge: { status: 'purged', calls: 1, messages: 2 },
    });
    expect(await storedEvents(call)).toBe(0);
    expect(await storedEvents(bystander)).toBe(2);

    const purges = await f.prisma.auditLog.findMany({
      where: { action: 'data_subject.stream_purge', resourceId: '+14***66' },
      orderBy: { at: 'asc' },
    });
    expect(purges.map((a) => a.after)).toEqual([
      { status: 'pending', calls: 1, messages: 0 },
      { status: 'purged', calls: 1, messages: 2 },
    ]);
  });

  it('refuses bad numbers with a clear 400, our own numbers with 409, and non-admins', async () => {
    for (const phone of ['4155550199', '+1', 'abc', '+0123456789', `+1${'2'.repeat(20)}`]) {
      const res = await f.call('GET', `/v1/data-subjects/${enc(phone)}/export`, undefined, 'admin');
      expect(res.statusCode, phone).toBe(400);
      expect(fieldsOf(res), phone).toEqual(['phone']);
      expect(res.json<{ issues: Array<{ message: string }> }>().issues[0]?.message).toMatch(
        /E\.164/,
      );
    }
    // Separators are allowed: the same number as +14155550177.
    const spaced = await f.call(
      'GET',
      `/v1/data-subjects/${enc('+1 (415) 555-0177')}/export`,
      undefined,
      'admin',
    );
    expect(spaced.json<Export>().phone).toBe('+14155550177');

    const badBody = await f.call(
      'POST',
      `/v1/data-subjects/${enc(OTHER)}/erase`,
      { removeDoNotCall: 'yes', everything: true },
      'admin',
    );
    expect(badBody.statusCode).toBe(400);
    expect(fieldsOf(badBody).sort()).toEqual(['everything', 'removeDoNotCall']);

    const ours = await f.call('POST', `/v1/data-subjects/${enc(OURS)}/erase`, {}, 'admin');
    expect(ours.statusCode).toBe(409);
    expect(ours.json<{ error: string }>().error).toMatch(/own numbers/);

    for (const role of ['operator', 'viewer'] as const) {
      const read = await f.call('GET', `/v1/data-subjects/${enc(OTHER)}/export`, undefined, role);
      expect(read.statusCode, role).toBe(403);
      const write = await f.call('POST', `/v1/data-subjects/${enc(OTHER)}/erase`, {}, role);
      expect(write.statusCode, role).toBe(403);
    }
    expect(await f.prisma.consentRecord.count({ where: { phone: OTHER } })).toBe(1);
  });
});
