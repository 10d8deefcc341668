import { describe, expect, it } from 'vitest';

import { signStreamToken, verifyStreamToken } from '../src/stream-token.js';

const SECRET = 'a-test-secret-that-is-long-enough-000';

describe('platform - stream token', () => {
  it('verifies its own token and returns the claims', () => {
    const token = signStreamToken({
      callId: 'c1',
      agentId: 'a1',
      secret: SECRET,
      ttlSec: 60,
      nowMs: 1_000_000,
    });
    const result = verifyStreamToken(token, SECRET, 1_000_000 + 59_000);
    expect(result).toMatchObject({ ok: true, claims: { callId: 'c1', agentId: 'a1', exp: 1_060 } });
  });
  it('refuses expired, tampered, foreign-secret and malformed tokens', () => {
    const token = signStreamToken({
      callId: 'c1',
      agentId: 'a1',
      secret: SECRET,
      ttlSec: 60,
      nowMs: 0,
    });
    expect(verifyStreamToken(token, SECRET, 60_000)).toEqual({ ok: false, reason: 'expired' });
    const [v, payload, mac] = token.split('.') as [string, string, string];
    const forged = Buffer.from(
      JSON.stringify({ callId: 'c2', agentId: 'a1', exp: 99, jti: 'x' }),
    ).toString('base64url');
    expect(verifyStreamToken(`${v}.${forged}.${mac}`, SECRET, 0)).toEqual({
      ok: false,
      reason: 'bad-signature',
    });
    expect(verifyStreamToken(token, `${SECRET}x`, 0)).toEqual({
      ok: false,
      reason: 'bad-signature',
    });
    expect(verifyStreamToken(`${v}.${payload}`, SECRET, 0)).toEqual({
      ok: false,
      reason: 'malformed',
    });
    expect(verifyStreamToken('', SECRET, 0)).toEqual({ ok: false, reason: 'malformed' });
  });
  it('gives every token a fresh id and refuses a short secret', () => {
    const a = signStreamToken({ callId: 'c', agentId: 'a', secret: SECRET, ttlSec: 5 });
    const b = signStreamToken({ callId: 'c', agentId: 'a', secret: SECRET, ttlSec: 5 });
    expect(a).not.toBe(b);
    expect(() =>
      signStreamToken({ callId: 'c', agentId: 'a', secret: 'short', ttlSec: 5 }),
    ).toThrow(RangeError);
  });
});
