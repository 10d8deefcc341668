import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';

import {
  baseServiceEnv,
  boolEnv,
  formatConfigError,
  intEnv,
  parseConfig,
  port,
  redactConfig,
} from '../src/config.js';
import { ConfigError } from '../src/errors.js';

const DB = 'postgres://app:s3cr3t-pw@127.0.0.1:5432/app';
const base = baseServiceEnv({ httpPort: 8080 });

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

const dir = mkdtempSync(join(tmpdir(), 'platform-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('config - baseServiceEnv', () => {
  it('applies every default when only DATABASE_URL is set', () => {
    const config = parseConfig(base, { DATABASE_URL: DB });
    expect(config).toEqual({
      NODE_ENV: 'development',
      LOG_LEVEL: 'info',
      HTTP_HOST: '0.0.0.0',
      HTTP_PORT: 8080,
      NATS_URL: ['nats://127.0.0.1:4222'],
      NATS_PREFIX: '',
      NATS_STREAM_REPLICAS: 1,
      DATABASE_URL: DB,
      DATABASE_POOL_MAX: 10,
      SHUTDOWN_TIMEOUT_MS: 10_000,
      POD_NAME: hostname(),
    });
  });

  it('parses explicit values, a NATS server list and an OTLP endpoint', () => {
    const config = parseConfig(base, {
      DATABASE_URL: 'postgresql://db/app',
      NODE_ENV: 'production',
      LOG_LEVEL: 'debug',
      HTTP_PORT: '9090',
      NATS_URL: 'nats://a:4222, tls://b:4222',
      NATS_PREFIX: 't42',
      DATABASE_POOL_MAX: '25',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
      SHUTDOWN_TIMEOUT_MS: '0',
      POD_NAME: 'bridge-0',
    });
    expect(config).toMatchObject({
      NODE_ENV: 'production',
      LOG_LEVEL: 'debug',
      HTTP_PORT: 9090,
      NATS_URL: ['nats://a:4222', 'tls://b:4222'],
      NATS_PREFIX: 't42',
      DATABASE_POOL_MAX: 25,
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
      SHUTDOWN_TIMEOUT_MS: 0,
      POD_NAME: 'bridge-0',
    });
  });

  it('treats empty strings as unset', () => {
    const config = parseConfig(base, { DATABASE_URL: DB, HTTP_PORT: '', LOG_LEVEL: '' });
    expect(config.HTTP_PORT).toBe(8080);
    expect(config.LOG_LEVEL).toBe('info');
  });

  it('returns a deep-frozen result', () => {
    const config = parseConfig(base, { DATABASE_URL: DB });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.NATS_URL)).toBe(true);
    expect(() => {
      (config as { HTTP_PORT: number }).HTTP_PORT = 1;
    }).toThrow(TypeError);
  });

  it('reports a missing DATABASE_URL as required', () => {
    const err = configError(() => parseConfig(base, {}));
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.retryable).toBe(false);
    expect(err.issues).toEqual([{ variable: 'DATABASE_URL', message: 'required' }]);
    expect(err.message).toBe('invalid configuration: DATABASE_URL: required');
  });

  it('names every bad variable in one line and never prints the database URL', () => {
    const err = configError(() =>
      parseConfig(base, {
        HTTP_PORT: 'abc',
        DATABASE_URL: 'mysql://root:hunter2@db/app',
        NODE_ENV: 'staging',
        LOG_LEVEL: 'loud',
        NATS_URL: 'http://nats:4222',
        NATS_PREFIX: 'Bad.Prefix',
        DATABASE_POOL_MAX: '0',
        OTEL_EXPORTER_OTLP_ENDPOINT: 'collector',
      }),
    );
    expect(err.issues.map((i) => i.variable).sort()).toEqual([
      'DATABASE_POOL_MAX',
      'DATABASE_URL',
      'HTTP_PORT',
      'LOG_LEVEL',
      'NATS_PREFIX',
      'NATS_URL',
      'NODE_ENV',
      'OTEL_EXPORTER_OTLP_ENDPOINT',
    ]);
    expect(err.message).not.toContain('\n');
    expect(err.message).not.toContain('hunter2');
    expect(err.message).not.toContain('mysql://');
    expect(err.message).toContain('HTTP_PORT: expected an integer between 1 and 65535 (got "abc")');
    expect(err.message).toContain(
      'DATABASE_URL: expected a postgres:// or postgresql:// URL (value hidden)',
    );
    expect(err.message).toContain('NODE_ENV: expected one of development, test, production');
    expect(err.message).toContain('LOG_LEVEL: expected one of fatal, error, warn, info');
    expect(formatConfigError(err)).toBe(err.message);
  });

  it('rejects ports out of range and non-integers', () => {
    for (const bad of ['0', '65536', '80.5', '-1', '1e3']) {
      const err = configError(() => parseConfig(base, { DATABASE_URL: DB, HTTP_PORT: bad }));
      expect(err.issues[0]?.message).toBe(
        `expected an integer between 1 and 65535 (got ${JSON.stringify(bad)})`,
      );
    }
    expect(() => port(0)).toThrow(RangeError);
  });
});

describe('config - helpers', () => {
  const schema = z.object({
    DRY_RUN: boolEnv.default(true),
    VERBOSE: boolEnv.optional(),
    TWILIO_AUTH_TOKEN: z.string().min(32),
    MAX_CALLS: intEnv({ min: 1, default: 50 }),
  });
  const token = 'x'.repeat(32);

  it('parses booleans strictly: only true, false, 1 and 0', () => {
    expect(parseConfig(schema, { TWILIO_AUTH_TOKEN: token }).DRY_RUN).toBe(true);
    expect(parseConfig(schema, { TWILIO_AUTH_TOKEN: token, DRY_RUN: '0' }).DRY_RUN).toBe(false);
    expect(parseConfig(schema, { TWILIO_AUTH_TOKEN: token, VERBOSE: 'true' }).VERBOSE).toBe(true);
    for (const bad of ['yes', 'TRUE', 'on']) {
      const err = configError(() =>
        parseConfig(schema, { TWILIO_AUTH_TOKEN: token, DRY_RUN: bad }),
      );
      expect(err.message).toBe(
        `invalid configuration: DRY_RUN: expected one of true, false, 1, 0 (got "${bad}")`,
      );
    }
  });

  it('hides the value of variables named like secrets', () => {
    const err = configError(() => parseConfig(schema, { TWILIO_AUTH_TOKEN: 'short-token-value' }));
    expect(err.message).toContain('TWILIO_AUTH_TOKEN:');
    expect(err.message).toContain('(value hidden)');
    expect(err.message).not.toContain('short-token-value');
  });

  it('reads X from the file named by X_FILE when X is unset', () => {
    const file = join(dir, 'token');
    writeFileSync(file, `${token}\n`);
    const config = parseConfig(schema, { TWILIO_AUTH_TOKEN_FILE: file });
    expect(config.TWILIO_AUTH_TOKEN).toBe(token);
    // X wins over X_FILE.
    const direct = 'y'.repeat(32);
    expect(
      parseConfig(schema, { TWILIO_AUTH_TOKEN: direct, TWILIO_AUTH_TOKEN_FILE: file })
        .TWILIO_AUTH_TOKEN,
    ).toBe(direct);
  });

  it('reads DATABASE_URL_FILE and never prints what the file holds', () => {
    const good = join(dir, 'db-good');
    writeFileSync(good, DB);
    expect(parseConfig(base, { DATABASE_URL_FILE: good }).DATABASE_URL).toBe(DB);
    const bad = join(dir, 'db-bad');
    writeFileSync(bad, 'not-a-url-but-a-secret');
    const err = configError(() => parseConfig(base, { DATABASE_URL_FILE: bad }));
    expect(err.message).toContain('DATABASE_URL: expected a postgres');
    expect(err.message).not.toContain('not-a-url-but-a-secret');
  });

  it('reports an unreadable X_FILE by its variable and path', () => {
    const missing = join(dir, 'missing');
    const err = configError(() => parseConfig(schema, { TWILIO_AUTH_TOKEN_FILE: missing }));
    expect(err.issues).toContainEqual({
      variable: 'TWILIO_AUTH_TOKEN_FILE',
      message: `cannot read file "${missing}" (ENOENT)`,
    });
  });

  it('redacts secrets from a config before it is logged', () => {
    const config = parseConfig(base, { DATABASE_URL: DB });
    const safe = redactConfig({ ...config, OPENAI_API_KEY: 'sk-1', NATS_URL: 'nats://u:p@h' });
    expect(safe).toMatchObject({
      DATABASE_URL: '[REDACTED]',
      OPENAI_API_KEY: '[REDACTED]',
      NATS_URL: '[REDACTED]',
      HTTP_PORT: 8080,
    });
  });

  it('rejects a default outside the allowed range at construction', () => {
    expect(() => intEnv({ min: 1, max: 5, default: 6 })).toThrow(RangeError);
  });
});
