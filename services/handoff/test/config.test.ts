import { describe, expect, it } from 'vitest';

import { loadConfig } from '../src/config.js';

const BASE = {
  DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/test',
  NATS_URL: 'nats://127.0.0.1:4222',
};

describe('handoff config', () => {
  it('has defaults for the transfer timing and no webhook', () => {
    const c = loadConfig({ ...BASE });
    expect(c).toMatchObject({
      HTTP_PORT: 3004,
      HANDOFF_TRANSFER_DELAY_MS: 2_500,
      HANDOFF_RING_TIMEOUT_SEC: 20,
      CALL_CONTROL_TIMEOUT_MS: 5_000,
    });
    expect(c.HANDOFF_WEBHOOK_URL).toBeUndefined();
  });

  it('refuses a webhook without its secret, and half a Twilio credential', () => {
    expect(() => loadConfig({ ...BASE, HANDOFF_WEBHOOK_URL: 'https://example.com/h' })).toThrow(
      /HANDOFF_WEBHOOK_SECRET/,
    );
    expect(() => loadConfig({ ...BASE, TWILIO_ACCOUNT_SID: 'AC' + '0'.repeat(32) })).toThrow(
      /TWILIO_AUTH_TOKEN/,
    );
    expect(
      loadConfig({
        ...BASE,
        HANDOFF_WEBHOOK_URL: 'https://example.com/h',
        HANDOFF_WEBHOOK_SECRET: 's'.repeat(16),
      }).HANDOFF_WEBHOOK_URL,
    ).toBe('https://example.com/h');
  });
});
