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
  listEnv,
  parseConfig,
  port,
  redactConfig,
  secretValues,
  splitNatsUrlCredentials,
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

describe('config - NATS credentials', () => {
  const pw = 'nats-pw-0123456789';

  it('are optional: none set, none parsed', () => {
    const config = parseConfig(base, { DATABASE_URL: DB });
    expect(config.NATS_USER).toBeUndefined();
    expect(config.NATS_PASSWORD).toBeUndefined();
    expect(config.NATS_TOKEN).toBeUndefined();
  });

  it('parses a user and password, or a token, or credentials in NATS_URL', () => {
    expect(
      parseConfig(base, { DATABASE_URL: DB, NATS_USER: 'svc', NATS_PASSWORD: pw }),
    ).toMatchObject({ NATS_USER: 'svc', NATS_PASSWORD: pw });
    expect(parseConfig(base, { DATABASE_URL: DB, NATS_TOKEN: pw }).NATS_TOKEN).toBe(pw);
    expect(
      parseConfig(base, { DATABASE_URL: DB, NATS_URL: `nats://svc:${pw}@a:4222,nats://b:4222` })
        .NATS_URL,
    ).toEqual([`nats://svc:${pw}@a:4222`, 'nats://b:4222']);
  });

  it('reads NATS_PASSWORD_FILE (a mounted Secret)', () => {
    const file = join(dir, 'nats-password');
    writeFileSync(file, `${pw}\n`);
    expect(
      parseConfig(base, { DATABASE_URL: DB, NATS_USER: 'svc', NATS_PASSWORD_FILE: file })
        .NATS_PASSWORD,
    ).toBe(pw);
  });

  it('wants NATS_USER and NATS_PASSWORD together, listed with every other issue', () => {
    const noPassword = configError(() => parseConfig(base, { DATABASE_URL: DB, NATS_USER: 'svc' }));
    expect(noPassword.issues).toEqual([
      {
        variable: 'NATS_PASSWORD',
        message: 'required with NATS_USER: set both NATS_USER and NATS_PASSWORD, or neither',
      },
    ]);
    const noUser = configError(() =>
      parseConfig(base, { HTTP_PORT: 'abc', DATABASE_URL: DB, NATS_PASSWORD: pw }),
    );
    expect(noUser.issues.map((i) => i.variable)).toEqual(['HTTP_PORT', 'NATS_USER']);
    expect(noUser.message).toContain(
      'NATS_USER: required with NATS_PASSWORD: set both NATS_USER and NATS_PASSWORD, or neither',
    );
    expect(noUser.message).not.toContain(pw);
  });

  it('refuses a token with a user, and credentials given both in NATS_URL and the variables', () => {
    const both = configError(() =>
      parseConfig(base, { DATABASE_URL: DB, NATS_USER: 'svc', NATS_PASSWORD: pw, NATS_TOKEN: pw }),
    );
    expect(both.issues).toEqual([
      {
        variable: 'NATS_TOKEN',
        message: 'set either NATS_TOKEN or NATS_USER and NATS_PASSWORD, not both',
      },
    ]);
    const twice = configError(() =>
      parseConfig(base, { DATABASE_URL: DB, NATS_URL: `nats://svc:${pw}@a:4222`, NATS_TOKEN: pw }),
    );
    expect(twice.issues.map((i) => i.variable)).toEqual(['NATS_URL']);
    expect(twice.message).toContain('give them one way');
    const differ = configError(() =>
      parseConfig(base, { DATABASE_URL: DB, NATS_URL: 'nats://a:x@h1:4222,nats://a:y@h2:4222' }),
    );
    expect(differ.message).toContain('NATS_URL: its URLs carry different credentials');
    for (const err of [both, twice, differ]) expect(err.message).not.toContain(pw);
  });

  it('never prints a NATS_URL with credentials, even the second URL of a bad list', () => {
    const err = configError(() =>
      parseConfig(base, { DATABASE_URL: DB, NATS_URL: `nats://a:4222, http://svc:${pw}@b:4222` }),
    );
    expect(err.message).toContain('NATS_URL: expected comma-separated');
    expect(err.message).toContain('(value hidden)');
    expect(err.message).not.toContain(pw);
  });

  it('takes credentials off URLs the way NATS clients read them', () => {
    expect(
      splitNatsUrlCredentials([
        'nats://svc:p%40ss%3Aword@nats:4222',
        'tls://svc:p%40ss%3Aword@nats-1.nats-headless:4222',
        'nats://plain:4222',
      ]),
    ).toEqual({
      servers: ['nats://nats:4222', 'tls://nats-1.nats-headless:4222', 'nats://plain:4222'],
      credentials: [{ user: 'svc', pass: 'p@ss:word' }],
    });
    expect(splitNatsUrlCredentials(['nats://s3cr3t-token@nats:4222'])).toEqual({
      servers: ['nats://nats:4222'],
      credentials: [{ token: 's3cr3t-token' }],
    });
  });

  it('redacts NATS_PASSWORD, NATS_TOKEN and a NATS_URL list with credentials before logging', () => {
    const config = parseConfig(base, {
      DATABASE_URL: DB,
      NATS_URL: `nats://svc:${pw}@a:4222,nats://b:4222`,
    });
    const safe = redactConfig({ ...config, NATS_PASSWORD: pw, NATS_TOKEN: pw });
    expect(safe).toMatchObject({
      NATS_URL: '[REDACTED]',
      NATS_PASSWORD: '[REDACTED]',
      NATS_TOKEN: '[REDACTED]',
    });
    expect(JSON.stringify(safe)).not.toContain(pw);
    // Error reports are scrubbed of the password inside the URL, not only of whole values.
    expect(secretValues(config)).toEqual(expect.arrayContaining([DB, pw]));
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

describe('config - listEnv', () => {
  const schema = z.object({
    HOSTS: listEnv({ check: (h) => (/^[a-z.]+$/.test(h) ? null : `"${h}" is not a host name`) }),
    SERVERS: listEnv({ default: 'a', required: 'expected at least one server' }),
  });

  it('splits on commas, trims, drops empty entries, and takes the default when unset', () => {
    expect(parseConfig(schema, { HOSTS: ' a.example , b.example,, ' })).toEqual({
      HOSTS: ['a.example', 'b.example'],
      SERVERS: ['a'],
    });
    expect(parseConfig(schema, {})).toEqual({ HOSTS: [], SERVERS: ['a'] });
  });

  it('names every bad entry, and refuses an empty list where one is required', () => {
    let error: unknown;
    try {
      parseConfig(schema, { HOSTS: 'ok.example,Bad_1,bad 2', SERVERS: ' , ' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    // parseConfig adds the value it got to each message.
    expect((error as ConfigError).issues).toEqual([
      { variable: 'HOSTS', message: expect.stringMatching(/^"Bad_1" is not a host name/) },
      { variable: 'HOSTS', message: expect.stringMatching(/^"bad 2" is not a host name/) },
      { variable: 'SERVERS', message: expect.stringMatching(/^expected at least one server/) },
    ]);
  });
});
