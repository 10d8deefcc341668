import { describe, expect, it } from 'vitest';
import { z } from 'zod';

import {
  buildEnvelope,
  callEnvelope,
  e164Schema,
  envelope,
  ENVELOPE_VERSION,
  formatIssues,
  parseOrThrow,
} from '../src/envelope.js';

const ping = envelope('test.ping', z.object({ n: z.number() }));
const callPing = callEnvelope('test.call-ping', z.object({}));
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('envelope', () => {
  it('fills v, a random uuid id, the type literal and an ISO timestamp', () => {
    const before = Date.now();
    const message = buildEnvelope(ping, { n: 1 });
    expect(message).toMatchObject({ v: ENVELOPE_VERSION, type: 'test.ping', data: { n: 1 } });
    expect(message.id).toMatch(UUID);
    expect(Date.parse(message.ts)).toBeGreaterThanOrEqual(before - 1);
    expect(message).not.toHaveProperty('callId');
    expect(buildEnvelope(ping, { n: 1 }).id).not.toBe(message.id);
  });

  it('takes id, ts (string or Date) and callId from options', () => {
    const id = '0b5a7c1e-8f0d-4a4e-9d1a-2f7b9c3e5d60';
    const message = buildEnvelope(callPing, {}, { id, ts: new Date(0), callId: 'CA1' });
    expect(message).toEqual({
      v: 1,
      id,
      type: 'test.call-ping',
      callId: 'CA1',
      ts: '1970-01-01T00:00:00.000Z',
      data: {},
    });
  });

  it('round-trips through JSON', () => {
    const message = buildEnvelope(ping, { n: 2 }, { callId: 'CA1' });
    expect(ping.parse(JSON.parse(JSON.stringify(message)))).toEqual(message);
  });

  it('rejects a wrong version, a missing id, a bad timestamp and a foreign type', () => {
    const good = buildEnvelope(ping, { n: 3 });
    const { id: _id, ...withoutId } = good;
    for (const bad of [
      { ...good, v: 2 },
      withoutId,
      { ...good, id: 'not-a-uuid' },
      { ...good, ts: 'yesterday' },
      { ...good, ts: '2025-01-01' },
      { ...good, type: 'test.pong' },
      { ...good, data: { n: 'three' } },
    ]) {
      expect(ping.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
    }
  });

  it('requires callId on call-scoped schemas and rejects one that is not a subject token', () => {
    expect(() => buildEnvelope(callPing, {})).toThrow(/invalid test.call-ping message: callId/);
    expect(() => buildEnvelope(callPing, {}, { callId: 'a.b' })).toThrow(TypeError);
    expect(() => buildEnvelope(ping, { n: 1 }, { callId: 'CA*' })).toThrow(TypeError);
  });

  it('throws a TypeError naming the path and the issue, without echoing values', () => {
    expect(() => buildEnvelope(ping, { n: 'secret' as unknown as number })).toThrow(
      /^invalid test\.ping message: data\.n: /,
    );
    try {
      parseOrThrow(z.object({ to: e164Schema }), { to: '555-secret' }, 'thing');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(TypeError);
      expect((err as Error).message).toContain('to: expected an E.164 phone number');
      expect((err as Error).message).not.toContain('555-secret');
    }
  });

  it('validates E.164 numbers', () => {
    for (const ok of ['+14155550123', '+447700900123', '+12']) {
      expect(e164Schema.safeParse(ok).success, ok).toBe(true);
    }
    for (const bad of [
      '14155550123',
      '+04155550123',
      '+1 415 555 0123',
      '+1234567890123456',
      '+',
    ]) {
      expect(e164Schema.safeParse(bad).success, bad).toBe(false);
    }
  });

  it('formats several issues on one line', () => {
    const result = z.object({ a: z.string(), b: z.number() }).safeParse({});
    expect(result.success).toBe(false);
    if (!result.success) expect(formatIssues(result.error)).toMatch(/^a: .+; b: .+$/);
  });
});
