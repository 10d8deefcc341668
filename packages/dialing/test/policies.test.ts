import { describe, expect, it } from 'vitest';

import {
  readStoredRetryPolicy,
  retryPolicySchema,
  timeZoneOf,
  timeZonesOf,
  validateCallRequest,
  type CallRequestInput,
  type ValidationIssue,
} from '../src/index.js';
import { InMemoryDialingDirectory } from '../src/testing.js';

const AGENT = '11111111-1111-4111-8111-111111111111';
const CAMPAIGN = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa';
const POOL_CAMPAIGN = 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb';
const EMPTY_POOL_CAMPAIGN = 'cccccccc-cccc-4ccc-8ccc-cccccccccccc';
const CONTACT = 'dddddddd-dddd-4ddd-8ddd-dddddddddddd';
const OURS = '+15555550100';
const EAST_1 = '+15555550111';
const EAST_2 = '+15555550112';
const CALLEE = '+14155550123';
const NO_CONSENT = '+14155550124';
const NOW = new Date('2030-01-01T12:00:00.000Z');

function directory() {
  return new InMemoryDialingDirectory({
    agents: [AGENT],
    numbers: [
      { e164: OURS, agentId: AGENT },
      { e164: EAST_1, agentId: AGENT, pool: 'east' },
      { e164: EAST_2, agentId: AGENT, pool: 'east', transport: 'sip' },
    ],
    consents: [{ phone: CALLEE, purpose: 'marketing_calls' }],
    campaigns: [
      {
        id: CAMPAIGN,
        consentPurpose: 'marketing_calls',
        retryPolicy: { maxAttempts: 5, backoffMs: 1_000, retryOn: ['busy'] },
        contacts: { [CONTACT]: 2 },
      },
      { id: POOL_CAMPAIGN, fromPool: 'east', retryPolicy: { backoffMultiplier: 3, bogus: 1 } },
      { id: EMPTY_POOL_CAMPAIGN, fromPool: 'west' },
    ],
  });
}

function input(overrides: Partial<CallRequestInput> = {}): CallRequestInput {
  return { to: CALLEE, agentId: AGENT, idempotencyKey: 'k-1', ...overrides };
}

async function issuesOf(request: CallRequestInput, dir = directory()): Promise<ValidationIssue[]> {
  const result = await validateCallRequest(request, dir, NOW);
  if (result.ok) throw new Error('expected the request to be refused');
  return result.issues;
}

describe('campaign consent', () => {
  it('dialing - accepts a callee with the campaign’s consent in force', async () => {
    const result = await validateCallRequest(input({ campaignId: CAMPAIGN }), directory(), NOW);
    expect(result).toMatchObject({ ok: true, request: { campaignId: CAMPAIGN } });
  });

  it('dialing - refuses consent_missing, naming the campaign’s purpose', async () => {
    expect(await issuesOf(input({ to: NO_CONSENT, campaignId: CAMPAIGN }))).toEqual([
      {
        field: 'to',
        code: 'consent_missing',
        message:
          'to has no consent in force for purpose "marketing_calls" (none recorded, or revoked),' +
          ' which the campaign requires',
      },
    ]);
  });

  it('dialing - a campaign without a purpose looks no consent up', async () => {
    const dir = directory();
    const result = await validateCallRequest(
      input({ to: NO_CONSENT, campaignId: POOL_CAMPAIGN }),
      dir,
      NOW,
    );
    expect(result.ok).toBe(true);
    expect(dir.calls.filter(([m]) => m === 'hasConsent')).toEqual([]);
  });

  it('dialing - refuses an unknown campaign (and an id that is not a UUID)', async () => {
    for (const campaignId of ['eeeeeeee-eeee-4eee-8eee-eeeeeeeeeeee', 'nope']) {
      expect(await issuesOf(input({ campaignId }))).toEqual([
        {
          field: 'campaignId',
          code: 'unknown_campaign',
          message: 'no campaign with this campaignId',
        },
      ]);
    }
  });
});

describe('number pools', () => {
  it('dialing - a fromPool request leaves from to the dialer and keeps the pool', async () => {
    const result = await validateCallRequest(input({ fromPool: 'east' }), directory(), NOW);
    expect(result).toMatchObject({
      ok: true,
      request: { from: null, fromPool: 'east', transport: 'media-streams' },
    });
  });

  it('dialing - refuses an unknown or empty pool', async () => {
    expect(await issuesOf(input({ fromPool: 'west' }))).toEqual([
      {
        field: 'fromPool',
        code: 'unknown_pool',
        message: 'fromPool "west" has no phone numbers (unknown or empty pool)',
      },
    ]);
  });

  it('dialing - refuses from and fromPool together, and a malformed pool name', async () => {
    expect(await issuesOf(input({ from: OURS, fromPool: 'east' }))).toEqual([
      {
        field: 'fromPool',
        code: 'invalid_field',
        message: 'give either from or fromPool, not both',
      },
    ]);
    expect((await issuesOf(input({ fromPool: 'east coast!' }))).map((i) => i.code)).toEqual([
      'invalid_field',
    ]);
  });

  it('dialing - uses the campaign’s pool when the request names no from', async () => {
    const pooled = await validateCallRequest(
      input({ campaignId: POOL_CAMPAIGN }),
      directory(),
      NOW,
    );
    expect(pooled).toMatchObject({ ok: true, request: { from: null, fromPool: 'east' } });
    // A from given with the request wins over the campaign's pool.
    const own = await validateCallRequest(
      input({ campaignId: POOL_CAMPAIGN, from: OURS }),
      directory(),
      NOW,
    );
    expect(own).toMatchObject({ ok: true, request: { from: OURS, fromPool: null } });
  });

  it('dialing - refuses a campaign whose pool is empty, saying it is the campaign’s', async () => {
    expect(await issuesOf(input({ campaignId: EMPTY_POOL_CAMPAIGN }))).toEqual([
      {
        field: 'fromPool',
        code: 'unknown_pool',
        message: 'the campaign\'s fromPool "west" has no phone numbers: add numbers to it',
      },
    ]);
  });
});

describe('retry policy', () => {
  it('dialing - the campaign’s policy comes with the request; the contact’s maxAttempts wins', async () => {
    const plain = await validateCallRequest(input({ campaignId: CAMPAIGN }), directory(), NOW);
    expect(plain).toMatchObject({
      ok: true,
      request: { retryPolicy: { maxAttempts: 5, backoffMs: 1_000, retryOn: ['busy'] } },
    });
    const contact = await validateCallRequest(
      input({ campaignId: CAMPAIGN, contactId: CONTACT }),
      directory(),
      NOW,
    );
    expect(contact).toMatchObject({
      ok: true,
      request: { retryPolicy: { maxAttempts: 2, backoffMs: 1_000, retryOn: ['busy'] } },
    });
  });

  it('dialing - no campaign, no policy: the dialer’s defaults', async () => {
    const result = await validateCallRequest(input(), directory(), NOW);
    expect(result).toMatchObject({ ok: true, request: { retryPolicy: null } });
  });

  it('dialing - a stored policy is read leniently, keeping only valid fields', () => {
    expect(readStoredRetryPolicy({ backoffMultiplier: 3, bogus: 1 })).toEqual({
      backoffMultiplier: 3,
    });
    expect(
      readStoredRetryPolicy({ maxAttempts: 0, backoffMs: -1, retryOn: ['completed'] }),
    ).toEqual({});
    expect(readStoredRetryPolicy(null)).toEqual({});
    expect(readStoredRetryPolicy([1])).toEqual({});
  });

  it('dialing - the API schema refuses what the dialer would not understand', () => {
    expect(retryPolicySchema.safeParse({ retryOn: ['completed'] }).success).toBe(false);
    expect(retryPolicySchema.safeParse({ retryOn: [] }).success).toBe(false);
    expect(retryPolicySchema.safeParse({ backoffMultiplier: 0.5 }).success).toBe(false);
    expect(retryPolicySchema.safeParse({ maxAttempts: 21 }).success).toBe(false);
    expect(retryPolicySchema.safeParse({ extra: true }).success).toBe(false);
    expect(
      retryPolicySchema.safeParse({
        maxAttempts: 4,
        backoffMs: 0,
        backoffMultiplier: 1,
        retryOn: ['busy', 'no-answer', 'failed', 'provider-error'],
      }).success,
    ).toBe(true);
  });
});

describe('time zone of a number', () => {
  it('dialing - maps a geographic number to its one zone', () => {
    expect(timeZoneOf('+14155550100')).toBe('America/Los_Angeles');
    expect(timeZoneOf('+12125550100')).toBe('America/New_York');
    expect(timeZoneOf('+442071838750')).toBe('Europe/London');
    expect(timeZoneOf('+33142685300')).toBe('Europe/Paris');
    expect(timeZoneOf('+61293744000')).toBe('Australia/Sydney');
  });

  it('dialing - leaves an ambiguous or unknown number without a zone', () => {
    // +1 555 and +1 800 are not geographic: the whole NANP's zones.
    expect(timeZonesOf('+15555550100').length).toBeGreaterThan(1);
    expect(timeZoneOf('+15555550100')).toBeNull();
    expect(timeZoneOf('+18005550100')).toBeNull();
    expect(timeZoneOf('not a number')).toBeNull();
    expect(timeZonesOf('+')).toEqual([]);
  });
});
