import { describe, expect, it } from 'vitest';

import { loadConfig } from '../src/config.js';

const BASE = { DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/voice' };

describe('gateway - config of the OpenAI webhook', () => {
  it('leaves the OpenAI credentials unset and defaults the tolerance and the offer deadline', () => {
    const config = loadConfig(BASE);
    expect(config).toMatchObject({
      OPENAI_WEBHOOK_TOLERANCE_SEC: 300,
      SIP_OFFER_DEADLINE_MS: 2_000,
    });
    expect(config.OPENAI_WEBHOOK_SECRET).toBeUndefined();
    expect(config.OPENAI_API_KEY).toBeUndefined();
    expect(config.OPENAI_BASE_URL).toBeUndefined();
  });

  it('reads the secret, key, base URL and limits', () => {
    expect(
      loadConfig({
        ...BASE,
        OPENAI_WEBHOOK_SECRET: 'whsec_c2VjcmV0',
        OPENAI_API_KEY: 'sk-test',
        OPENAI_BASE_URL: 'http://127.0.0.1:3011/v1',
        OPENAI_WEBHOOK_TOLERANCE_SEC: '120',
        SIP_OFFER_DEADLINE_MS: '1500',
      }),
    ).toMatchObject({
      OPENAI_WEBHOOK_SECRET: 'whsec_c2VjcmV0',
      OPENAI_API_KEY: 'sk-test',
      OPENAI_BASE_URL: 'http://127.0.0.1:3011/v1',
      OPENAI_WEBHOOK_TOLERANCE_SEC: 120,
      SIP_OFFER_DEADLINE_MS: 1_500,
    });
  });

  it('refuses a secret that is not a webhook signing secret, without printing it', () => {
    expect(() =>
      loadConfig({ ...BASE, OPENAI_WEBHOOK_SECRET: 'sk-looks-like-an-api-key' }),
    ).toThrow(
      /OPENAI_WEBHOOK_SECRET: must be the webhook signing secret, starting with whsec_ \(value hidden\)/,
    );
  });

  it('refuses a tolerance the replay bucket cannot cover, and a deadline out of range', () => {
    expect(() => loadConfig({ ...BASE, OPENAI_WEBHOOK_TOLERANCE_SEC: '301' })).toThrow(
      /OPENAI_WEBHOOK_TOLERANCE_SEC/,
    );
    expect(() => loadConfig({ ...BASE, SIP_OFFER_DEADLINE_MS: '0' })).toThrow(
      /SIP_OFFER_DEADLINE_MS/,
    );
  });
});

describe('gateway - config of POST /v1/calls', () => {
  it('accepts schedules up to 30 days ahead by default, and 1 to 30 when set', () => {
    expect(loadConfig(BASE).CALL_MAX_SCHEDULE_AHEAD_DAYS).toBe(30);
    expect(
      loadConfig({ ...BASE, CALL_MAX_SCHEDULE_AHEAD_DAYS: '7' }).CALL_MAX_SCHEDULE_AHEAD_DAYS,
    ).toBe(7);
    for (const value of ['0', '31', 'a week']) {
      expect(() => loadConfig({ ...BASE, CALL_MAX_SCHEDULE_AHEAD_DAYS: value })).toThrow(
        /CALL_MAX_SCHEDULE_AHEAD_DAYS: expected an integer between 1 and 30/,
      );
    }
  });
});
