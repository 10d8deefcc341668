import { describe, expect, it } from 'vitest';

import { ConfigError } from '@app/platform';

import { loadConfig } from '../src/config.js';

const base = { DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/voice' };

describe('campaign-scheduler - config', () => {
  it('has safe defaults: Twilio-like limits, three attempts a minute apart', () => {
    const c = loadConfig(base);
    expect(c).toMatchObject({
      HTTP_PORT: 3002,
      GATEWAY_PUBLIC_URL: 'http://127.0.0.1:3000',
      DIAL_MAX_CPS: 1,
      DIAL_MAX_CPS_PER_NUMBER: 1,
      DIAL_MAX_CONCURRENT: 20,
      DIAL_MAX_ATTEMPTS: 3,
      DIAL_RETRY_BACKOFF_MS: 60_000,
      DIAL_RECLAIM_AFTER_MS: 60_000,
      CAMPAIGN_POLL_INTERVAL_MS: 500,
      CAMPAIGN_PROGRESS_INTERVAL_MS: 2_000,
      CAMPAIGN_REPUBLISH_AFTER_MS: 30_000,
    });
    expect(c.TWILIO_ACCOUNT_SID).toBeUndefined();
    expect(c.OPENAI_SIP_URI).toBeUndefined();
  });

  it('accepts fractional rates and a SIP URI without headers', () => {
    const c = loadConfig({
      ...base,
      DIAL_MAX_CPS: '2.5',
      OPENAI_SIP_URI: 'sip:proj_123@sip.api.openai.com;transport=tls',
    });
    expect(c.DIAL_MAX_CPS).toBe(2.5);
  });

  it('names every bad variable', () => {
    let error: unknown;
    try {
      loadConfig({
        ...base,
        DIAL_MAX_CPS: '0',
        DIAL_MAX_ATTEMPTS: 'three',
        OPENAI_SIP_URI: 'sip:proj@host?X-A=1',
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    for (const variable of ['DIAL_MAX_CPS', 'DIAL_MAX_ATTEMPTS', 'OPENAI_SIP_URI']) {
      expect(message).toContain(variable);
    }
  });

  it('refuses campaign runner timings out of range', () => {
    expect(() => loadConfig({ ...base, CAMPAIGN_POLL_INTERVAL_MS: '5' })).toThrow(
      /CAMPAIGN_POLL_INTERVAL_MS/,
    );
    expect(() => loadConfig({ ...base, CAMPAIGN_PROGRESS_INTERVAL_MS: 'often' })).toThrow(
      /CAMPAIGN_PROGRESS_INTERVAL_MS/,
    );
  });

  it('wants both Twilio credentials or neither', () => {
    expect(() => loadConfig({ ...base, TWILIO_ACCOUNT_SID: `AC${'0'.repeat(32)}` })).toThrow(
      /TWILIO_AUTH_TOKEN/,
    );
  });

  it('refuses a reclaim delay a live request could outlast', () => {
    expect(() => loadConfig({ ...base, TWILIO_REQUEST_TIMEOUT_MS: '40000' })).toThrow(
      /DIAL_RECLAIM_AFTER_MS/,
    );
  });
});
