/**
 * add_to_do_not_call through `tool-runner.execute` over real NATS and PostgreSQL (issue 10): the
 * number listed is the call's other party from the call record, never one the model passes; the
 * entry has source `voice` and its call; a second ask changes nothing; each new entry has an
 * audit row.
 */
import { randomUUID } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { CALLER, OURS, startHarness, type Harness } from './harness.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
}, 60_000);

afterAll(async () => {
  await h?.close();
}, 60_000);

/** A call row with its own remote number, so tests do not share a list entry. */
async function callWith(direction: 'inbound' | 'outbound', remote: string): Promise<string> {
  const call = await h.prisma.call.create({
    data: {
      direction,
      transport: 'media_streams',
      fromNumber: direction === 'inbound' ? remote : OURS,
      toNumber: direction === 'inbound' ? OURS : remote,
      status: 'in_progress',
      agentId: h.agentId,
    },
  });
  return call.id;
}

describe('add_to_do_not_call', { timeout: 30_000 }, () => {
  it("lists the caller's number from the call record, once, with an audit row", async () => {
    const callId = await h.newCall();
    const first = await h.invoke(
      callId,
      'add_to_do_not_call',
      { reason: 'said stop calling me' },
      { invocationId: 'call_dnc_1' },
    );
    expect(first).toMatchObject({ ok: true, output: { listed: true, alreadyListed: false } });
    const entry = await h.prisma.doNotCallEntry.findUniqueOrThrow({ where: { phone: CALLER } });
    expect(entry).toMatchObject({ source: 'voice', callId, reason: 'said stop calling me' });

    // Asked again (a retried invocation, or later in the call): one entry, one audit row.
    const again = await h.invoke(callId, 'add_to_do_not_call', {}, { invocationId: 'call_dnc_2' });
    expect(again).toMatchObject({ ok: true, output: { listed: true, alreadyListed: true } });
    expect(await h.prisma.doNotCallEntry.count({ where: { phone: CALLER } })).toBe(1);
    const audit = await h.prisma.auditLog.findMany({
      where: { resourceType: 'do_not_call_entry', resourceId: entry.id },
    });
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({
      actor: 'system:tool-runner',
      action: 'do_not_call.create',
      after: { source: 'voice', callId },
    });
  });

  it('on an outbound call lists the callee, not our number', async () => {
    const callee = '+14155550177';
    const callId = await callWith('outbound', callee);
    const result = await h.invoke(callId, 'add_to_do_not_call', {});
    expect(result).toMatchObject({ ok: true, output: { alreadyListed: false } });
    expect(await h.prisma.doNotCallEntry.findUnique({ where: { phone: callee } })).toMatchObject({
      source: 'voice',
      callId,
    });
    expect(await h.prisma.doNotCallEntry.findUnique({ where: { phone: OURS } })).toBeNull();
  });

  it('takes no number from the model: one in the arguments is refused and nothing is listed', async () => {
    const callId = await callWith('inbound', '+14155550178');
    const before = await h.prisma.doNotCallEntry.count();
    for (const args of [{ phoneNumber: '+14155550999' }, { phone: '+14155550999' }]) {
      const result = await h.invoke(callId, 'add_to_do_not_call', args);
      expect(result.ok).toBe(false);
      expect(result.ok ? null : result.error.code).toBe('INVALID_ARGS');
    }
    expect(await h.prisma.doNotCallEntry.count()).toBe(before);
  });

  it('refuses, with a message for the model, a withheld number or a call not recorded', async () => {
    const before = await h.prisma.doNotCallEntry.count();
    const withheld = await callWith('inbound', 'anonymous');
    const refused = await h.invoke(withheld, 'add_to_do_not_call', {});
    expect(refused).toMatchObject({ ok: false, error: { code: 'TOOL_FAILED' } });
    expect(refused.ok ? '' : refused.error.message).toMatch(/withheld/);

    const unknown = await h.invoke(randomUUID(), 'add_to_do_not_call', {});
    expect(unknown).toMatchObject({ ok: false, error: { code: 'TOOL_FAILED', retryable: true } });
    expect(await h.prisma.doNotCallEntry.count()).toBe(before);
  });
});
