import { describe, expect, it } from 'vitest';

import { validateCallRequest, type CallRequestInput, type ValidationIssue } from '../src/index.js';
import { InMemoryDialingDirectory } from '../src/testing.js';

const AGENT = '11111111-1111-4111-8111-111111111111';
const SIP_AGENT = '22222222-2222-4222-8222-222222222222';
const BARE_AGENT = '33333333-3333-4333-8333-333333333333';
const OURS = '+15555550100';
const OURS_SIP = '+15555550199';
const CALLEE = '+14155550123';
const NOW = new Date('2030-01-01T12:00:00.000Z');
const DAY_MS = 86_400_000;
const CAMPAIGN = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa';

function directory() {
  return new InMemoryDialingDirectory({
    agents: [AGENT, SIP_AGENT, BARE_AGENT],
    numbers: [
      { e164: OURS, agentId: AGENT },
      { e164: '+15555550101', agentId: AGENT },
      { e164: OURS_SIP, agentId: SIP_AGENT, transport: 'sip' },
    ],
    doNotCall: ['+14155550666'],
    consents: [{ phone: CALLEE, purpose: 'marketing_calls' }],
  });
}

function input(overrides: Partial<CallRequestInput> = {}): CallRequestInput {
  return { to: '+1 (415) 555-0123', agentId: AGENT, idempotencyKey: 'order-42', ...overrides };
}

async function issuesOf(request: CallRequestInput, now = NOW): Promise<ValidationIssue[]> {
  const result = await validateCallRequest(request, directory(), now);
  if (result.ok) throw new Error('expected the request to be refused');
  return result.issues;
}

describe('validateCallRequest', () => {
  it('dialing - normalises the numbers and fills in the defaults', async () => {
    const result = await validateCallRequest(input({ from: '+1 555 555 0100' }), directory(), NOW);
    expect(result).toEqual({
      ok: true,
      request: {
        to: CALLEE,
        from: OURS,
        agentId: AGENT,
        transport: 'media-streams',
        variables: {},
        scheduledAt: NOW,
        idempotencyKey: 'order-42',
        metadata: {},
        fromPool: null,
        retryPolicy: null,
      },
    });
  });

  it('dialing - calls from the agent’s first number when no from is given', async () => {
    const result = await validateCallRequest(input(), directory(), NOW);
    expect(result).toMatchObject({ ok: true, request: { from: OURS, transport: 'media-streams' } });
  });

  it('dialing - takes the transport of the from-number', async () => {
    const result = await validateCallRequest(input({ agentId: SIP_AGENT }), directory(), NOW);
    expect(result).toMatchObject({ ok: true, request: { from: OURS_SIP, transport: 'sip' } });
    const explicit = await validateCallRequest(input({ from: OURS_SIP }), directory(), NOW);
    expect(explicit).toMatchObject({ ok: true, request: { from: OURS_SIP, transport: 'sip' } });
  });

  it('dialing - keeps variables, metadata, campaign and contact', async () => {
    const dir = directory();
    dir.campaigns.push({ id: CAMPAIGN });
    const result = await validateCallRequest(
      input({
        variables: { name: 'Ada' },
        metadata: { crm: { id: 7 } },
        campaignId: CAMPAIGN,
        contactId: 'k1',
      }),
      dir,
      NOW,
    );
    expect(result).toMatchObject({
      ok: true,
      request: {
        variables: { name: 'Ada' },
        metadata: { crm: { id: 7 } },
        campaignId: CAMPAIGN,
        contactId: 'k1',
      },
    });
  });

  it('dialing - refuses an invalid to', async () => {
    expect(await issuesOf(input({ to: '4155550123' }))).toEqual([
      { field: 'to', code: 'invalid_phone', message: expect.stringMatching(/international/) },
    ]);
  });

  it('dialing - refuses an invalid from', async () => {
    expect(await issuesOf(input({ from: '+4420718' }))).toEqual([
      { field: 'from', code: 'invalid_phone', message: expect.stringMatching(/too short/) },
    ]);
  });

  it('dialing - refuses a from that is not ours', async () => {
    expect(await issuesOf(input({ from: '+14155550999' }))).toEqual([
      { field: 'from', code: 'from_not_ours', message: 'from is not one of our phone numbers' },
    ]);
  });

  it('dialing - refuses an unknown agent, including one whose id is not a UUID', async () => {
    for (const agentId of ['44444444-4444-4444-8444-444444444444', 'not-a-uuid']) {
      expect(await issuesOf(input({ agentId }))).toEqual([
        { field: 'agentId', code: 'unknown_agent', message: 'no agent with this agentId' },
      ]);
    }
    expect(await issuesOf(input({ agentId: ' ' }))).toEqual([
      { field: 'agentId', code: 'invalid_field', message: 'agentId is required' },
    ]);
  });

  it('dialing - refuses when neither from nor an agent number is there', async () => {
    expect(await issuesOf(input({ agentId: BARE_AGENT }))).toEqual([
      { field: 'from', code: 'no_from_number', message: expect.stringMatching(/give from/) },
    ]);
  });

  it('dialing - refuses a number on the do-not-call list', async () => {
    expect(await issuesOf(input({ to: '+1 415 555 0666' }))).toEqual([
      { field: 'to', code: 'do_not_call', message: 'to is on the do-not-call list' },
    ]);
  });

  it('dialing - refuses a missing consent when the request requires one', async () => {
    const dir = directory();
    const ok = await validateCallRequest(input({ requireConsent: 'marketing_calls' }), dir, NOW);
    expect(ok.ok).toBe(true);
    expect(await issuesOf(input({ requireConsent: 'recording' }))).toEqual([
      {
        field: 'to',
        code: 'consent_missing',
        message: expect.stringMatching(/no consent in force for purpose "recording"/),
      },
    ]);
    // Without requireConsent, consent is not even looked up.
    await validateCallRequest(input(), dir, NOW);
    expect(dir.calls.filter(([method]) => method === 'hasConsent')).toHaveLength(1);
  });

  it('dialing - treats a past scheduledAt as now and keeps a future one', async () => {
    const past = await validateCallRequest(
      input({ scheduledAt: '2029-12-31T00:00:00Z' }),
      directory(),
      NOW,
    );
    expect(past).toMatchObject({ ok: true, request: { scheduledAt: NOW } });
    const future = await validateCallRequest(
      input({ scheduledAt: '2030-01-02T09:30:00+01:00' }),
      directory(),
      NOW,
    );
    expect(future).toMatchObject({
      ok: true,
      request: { scheduledAt: new Date('2030-01-02T08:30:00Z') },
    });
  });

  it.each([
    ['tomorrow', /ISO 8601/],
    ['2030-01-02 09:30', /ISO 8601/],
    ['2030-01-02T09:30:00', /ISO 8601/],
    ['2030-02-31T09:30:00Z', /ISO 8601/],
    ['2030-02-01T12:00:01Z', /at most 30 days ahead/],
  ])('dialing - refuses scheduledAt %j', async (scheduledAt, message) => {
    expect(await issuesOf(input({ scheduledAt }))).toEqual([
      { field: 'scheduledAt', code: 'invalid_schedule', message: expect.stringMatching(message) },
    ]);
  });

  it('dialing - takes the schedule limit from the options', async () => {
    const at = new Date(NOW.getTime() + 2 * DAY_MS).toISOString();
    const dir = directory();
    const refused = await validateCallRequest(input({ scheduledAt: at }), dir, NOW, {
      maxScheduleAheadMs: DAY_MS,
    });
    expect(refused).toMatchObject({
      ok: false,
      issues: [{ field: 'scheduledAt', message: 'scheduledAt may be at most 1 days ahead' }],
    });
    const exactly = new Date(NOW.getTime() + 30 * DAY_MS).toISOString();
    expect((await validateCallRequest(input({ scheduledAt: exactly }), dir, NOW)).ok).toBe(true);
    await expect(
      validateCallRequest(input(), dir, NOW, { maxScheduleAheadMs: -1 }),
    ).rejects.toThrow(RangeError);
  });

  it.each([
    ['', /required/],
    ['   ', /required/],
    ['k'.repeat(257), /at most 256/],
  ])('dialing - refuses the idempotency key %j', async (idempotencyKey, message) => {
    expect(await issuesOf(input({ idempotencyKey }))).toEqual([
      { field: 'idempotencyKey', code: 'invalid_field', message: expect.stringMatching(message) },
    ]);
  });

  it('dialing - refuses variables that are not strings and metadata that is not an object', async () => {
    const issues = await issuesOf(
      input({
        variables: { name: 'Ada', age: 36 as unknown as string },
        metadata: [1, 2] as unknown as Record<string, unknown>,
      }),
    );
    expect(issues).toEqual([
      { field: 'variables.age', code: 'invalid_field', message: 'variables.age must be a string' },
      { field: 'metadata', code: 'invalid_field', message: 'metadata must be a JSON object' },
    ]);
  });

  it('dialing - reports every issue at once, in the order of the fields', async () => {
    const issues = await issuesOf(
      input({
        to: '+1 415 555 0666',
        from: '+14155550999',
        agentId: '44444444-4444-4444-8444-444444444444',
        scheduledAt: 'soon',
        idempotencyKey: '',
        requireConsent: 'marketing_calls',
      }),
    );
    expect(issues.map((i) => [i.field, i.code])).toEqual([
      ['to', 'do_not_call'],
      ['to', 'consent_missing'],
      ['from', 'from_not_ours'],
      ['agentId', 'unknown_agent'],
      ['scheduledAt', 'invalid_schedule'],
      ['idempotencyKey', 'invalid_field'],
    ]);
  });

  it('dialing - never puts a phone number in a message', async () => {
    const issues = await issuesOf(
      input({ to: '+1 415 555 0666', from: '+14155550999', requireConsent: 'marketing_calls' }),
    );
    for (const { message } of issues) expect(message).not.toMatch(/\d{7}/);
  });
});
