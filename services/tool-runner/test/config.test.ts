import { describe, expect, it } from 'vitest';

import { ConfigError } from '@app/platform';

import { loadConfig } from '../src/config.js';

const base = { DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/voice' };

describe('tool-runner - config', () => {
  it('has defaults for the output limit, timeouts, rate limits and transfer mode', () => {
    expect(loadConfig(base)).toMatchObject({
      HTTP_PORT: 3003,
      TOOL_MAX_OUTPUT_BYTES: 16_384,
      TOOL_MAX_TIMEOUT_MS: 30_000,
      TOOL_RATE_LIMIT_PER_CALL_PER_MIN: 30,
      TOOL_RATE_LIMIT_PER_TOOL_PER_SEC: 100,
      TOOL_TRANSFER_MODE: 'warm',
      HANDOFF_REQUEST_TIMEOUT_MS: 5_000,
    });
  });

  it('accepts 0 to turn a rate limit off, and cold transfers', () => {
    const c = loadConfig({
      ...base,
      TOOL_RATE_LIMIT_PER_CALL_PER_MIN: '0',
      TOOL_TRANSFER_MODE: 'cold',
    });
    expect(c.TOOL_RATE_LIMIT_PER_CALL_PER_MIN).toBe(0);
    expect(c.TOOL_TRANSFER_MODE).toBe('cold');
  });

  it('names every bad variable', () => {
    let error: unknown;
    try {
      loadConfig({ ...base, TOOL_MAX_OUTPUT_BYTES: '10', TOOL_TRANSFER_MODE: 'lukewarm' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect(String((error as Error).message)).toMatch(/TOOL_MAX_OUTPUT_BYTES/);
    expect(String((error as Error).message)).toMatch(/TOOL_TRANSFER_MODE/);
  });
});
