import { describe, expect, it } from 'vitest';

import { AppError, ConfigError, ProviderError, SystemError, UserError } from '../src/errors.js';

describe('errors', () => {
  it('carries code, retryable, cause and the subclass name', () => {
    const cause = new Error('socket hang up');
    const err = new SystemError('nats unavailable', { code: 'NATS_UNAVAILABLE', cause });
    expect(err).toBeInstanceOf(AppError);
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('SystemError');
    expect(err.code).toBe('NATS_UNAVAILABLE');
    expect(err.retryable).toBe(true);
    expect(err.cause).toBe(cause);
  });

  it('never marks a UserError retryable', () => {
    const err = new UserError('call not found', { code: 'CALL_NOT_FOUND', retryable: true });
    expect(err.retryable).toBe(false);
    expect(new UserError('bad').code).toBe('USER_ERROR');
  });

  it('retries provider HTTP errors only for 5xx, 408, 429 and 499', () => {
    const retryable = (s: number) =>
      ProviderError.fromHttpStatus(s, 'twilio call create failed', { provider: 'twilio' })
        .retryable;
    expect([500, 502, 503, 408, 429, 499].map(retryable)).toEqual([
      true,
      true,
      true,
      true,
      true,
      true,
    ]);
    expect([400, 401, 403, 404, 409, 422].map(retryable)).toEqual([
      false,
      false,
      false,
      false,
      false,
      false,
    ]);
    const err = ProviderError.fromHttpStatus(503, 'openai unavailable', { provider: 'openai' });
    expect(err).toMatchObject({ name: 'ProviderError', provider: 'openai', status: 503 });
    expect(err.code).toBe('PROVIDER_HTTP_503');
    expect(() => ProviderError.fromHttpStatus(42, 'x', { provider: 'twilio' })).toThrow(RangeError);
  });

  it('formats a ConfigError as one line naming each variable', () => {
    const err = new ConfigError([
      { variable: 'HTTP_PORT', message: 'expected an integer between 1 and 65535 (got "abc")' },
      { variable: 'DATABASE_URL', message: 'required' },
    ]);
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toBe(
      'invalid configuration: HTTP_PORT: expected an integer between 1 and 65535 (got "abc"); DATABASE_URL: required',
    );
  });
});
