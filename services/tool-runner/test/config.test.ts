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

  it('refuses private networks to HTTP tools unless told otherwise', () => {
    expect(loadConfig(base)).toMatchObject({
      HTTP_TOOL_ALLOW_PRIVATE_NETWORKS: false,
      HTTP_TOOL_ALLOWED_HOSTS: [],
    });
    const c = loadConfig({
      ...base,
      HTTP_TOOL_ALLOW_PRIVATE_NETWORKS: 'true',
      HTTP_TOOL_ALLOWED_HOSTS: ' crm.tools.internal, *.svc.cluster.local,10.20.0.0/16 ,, fd00::/8',
    });
    expect(c.HTTP_TOOL_ALLOW_PRIVATE_NETWORKS).toBe(true);
    expect(c.HTTP_TOOL_ALLOWED_HOSTS).toEqual([
      'crm.tools.internal',
      '*.svc.cluster.local',
      '10.20.0.0/16',
      'fd00::/8',
    ]);
    expect(loadConfig({ ...base, HTTP_TOOL_ALLOW_PRIVATE_NETWORKS: '0' })).toMatchObject({
      HTTP_TOOL_ALLOW_PRIVATE_NETWORKS: false,
    });
  });

  it('names a bad allowlist entry and a loose boolean', () => {
    const message = (env: Record<string, string>) => {
      try {
        loadConfig({ ...base, ...env });
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return (err as Error).message;
      }
      return 'accepted';
    };
    expect(message({ HTTP_TOOL_ALLOWED_HOSTS: 'ok.internal,http://crm.internal/api' })).toMatch(
      /HTTP_TOOL_ALLOWED_HOSTS.*"http:\/\/crm\.internal\/api" is not a host name/,
    );
    expect(message({ HTTP_TOOL_ALLOWED_HOSTS: '10.0.0.0/40' })).toMatch(/HTTP_TOOL_ALLOWED_HOSTS/);
    expect(message({ HTTP_TOOL_ALLOW_PRIVATE_NETWORKS: 'yes' })).toMatch(
      /HTTP_TOOL_ALLOW_PRIVATE_NETWORKS.*expected one of true, false, 1, 0/,
    );
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
