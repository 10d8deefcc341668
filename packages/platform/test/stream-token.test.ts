import { createHmac } from 'node:crypto';

import { describe, expect, it } from 'vitest';
import { z } from 'zod';

import {
  DEV_STREAM_TOKEN_SECRET,
  refuseDevStreamTokenSecret,
  signStreamToken,
  streamTokenSecretEnv,
  verifyStreamToken,
} from '../src/stream-token.js';

const SECRET = 'a-test-secret-that-is-long-enough-000';

/** A token signed with SECRET over any payload, as only a holder of the secret could make. */
function signedWith(claims: unknown): string {
  const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
  const mac = createHmac('sha256', SECRET).update(`v1.${payload}`).digest('base64url');
  return `v1.${payload}.${mac}`;
}

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
  it('carries setupStartMs when given, and leaves it out when not', () => {
    const setupStartMs = 1_764_000_000_123;
    const token = signStreamToken({
      callId: 'c1',
      agentId: 'a1',
      secret: SECRET,
      ttlSec: 60,
      setupStartMs,
      nowMs: 1_000_000,
    });
    const result = verifyStreamToken(token, SECRET, 1_000_000);
    expect(result).toMatchObject({ ok: true, claims: { callId: 'c1', setupStartMs } });
    const without = verifyStreamToken(
      signStreamToken({ callId: 'c1', agentId: 'a1', secret: SECRET, ttlSec: 60 }),
      SECRET,
    );
    expect(without.ok).toBe(true);
    expect(without.ok && 'setupStartMs' in without.claims).toBe(false);
  });
  it('refuses a token whose setupStartMs was changed, added, or is not a finite number', () => {
    const token = signStreamToken({
      callId: 'c1',
      agentId: 'a1',
      secret: SECRET,
      ttlSec: 60,
      setupStartMs: 5_000,
      nowMs: 0,
    });
    const [v, payload, mac] = token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<
      string,
      unknown
    >;
    const reencode = (c: unknown) => Buffer.from(JSON.stringify(c)).toString('base64url');
    // An earlier start (a longer setup) under the original MAC.
    expect(
      verifyStreamToken(`${v}.${reencode({ ...claims, setupStartMs: 1 })}.${mac}`, SECRET, 0),
    ).toEqual({ ok: false, reason: 'bad-signature' });
    // Added to a token signed without one.
    const plain = signStreamToken({ callId: 'c1', agentId: 'a1', secret: SECRET, ttlSec: 60 });
    const [pv, pPayload, pMac] = plain.split('.') as [string, string, string];
    const plainClaims = JSON.parse(Buffer.from(pPayload, 'base64url').toString('utf8')) as object;
    expect(
      verifyStreamToken(`${pv}.${reencode({ ...plainClaims, setupStartMs: 1 })}.${pMac}`, SECRET),
    ).toEqual({ ok: false, reason: 'bad-signature' });
    // Correctly signed but not a number: refused all the same.
    for (const bad of ['5000', null, true]) {
      expect(verifyStreamToken(signedWith({ ...claims, setupStartMs: bad }), SECRET, 0)).toEqual({
        ok: false,
        reason: 'malformed',
      });
    }
    expect(verifyStreamToken(signedWith(claims), SECRET, 0)).toMatchObject({ ok: true });
  });
  it('refuses to sign a setupStartMs that is not a finite number', () => {
    for (const setupStartMs of [Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() =>
        signStreamToken({ callId: 'c', agentId: 'a', secret: SECRET, ttlSec: 5, setupStartMs }),
      ).toThrow(RangeError);
    }
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

describe('platform - STREAM_TOKEN_SECRET setting', () => {
  const schema = z
    .object({ NODE_ENV: z.string(), STREAM_TOKEN_SECRET: streamTokenSecretEnv })
    .superRefine(refuseDevStreamTokenSecret);
  it('defaults to the public dev secret outside production', () => {
    expect(schema.parse({ NODE_ENV: 'development' }).STREAM_TOKEN_SECRET).toBe(
      DEV_STREAM_TOKEN_SECRET,
    );
  });
  it('refuses the dev secret and a short one in production', () => {
    expect(schema.safeParse({ NODE_ENV: 'production' }).error?.issues[0]?.path).toEqual([
      'STREAM_TOKEN_SECRET',
    ]);
    expect(schema.safeParse({ NODE_ENV: 'production', STREAM_TOKEN_SECRET: 'short' }).success).toBe(
      false,
    );
    expect(
      schema.safeParse({ NODE_ENV: 'production', STREAM_TOKEN_SECRET: 'x'.repeat(40) }).success,
    ).toBe(true);
  });
});
