import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';

import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startPrivateNats, type PrivateNats } from '../../../test/faults/private-servers.js';
import { baseServiceEnv, parseConfig } from '../src/config.js';
import { SystemError } from '../src/errors.js';
import { connectNats } from '../src/nats.js';
import { runService } from '../src/service-runtime.js';
import { captureLogs, freePort } from '../src/testing.js';

// Real nats-server processes of our own (the machine's shared one has no authorization), real
// service processes, no mocks.
const ROOT = join(import.meta.dirname, '..', '..', '..');
const FIXTURE = 'packages/platform/test/fixtures/nats-service.ts';
const USER = 'svc';
/** Distinctive, so the logs can be searched for it. */
const PASSWORD = `pw${randomBytes(12).toString('hex')}`;
const WRONG_PASSWORD = `wrong${randomBytes(12).toString('hex')}`;
/** Valid for the config schema; nothing here opens it. */
const DATABASE_URL = 'postgresql://postgres@127.0.0.1:5432/test';

const dir = mkdtempSync(join(tmpdir(), 'nats-auth-'));
let server: PrivateNats;
const { log, lines } = captureLogs({ level: 'debug' });

beforeAll(async () => {
  server = await startPrivateNats({ args: ['--user', USER, '--pass', PASSWORD] });
});

afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The connect error, or a failure when the connect succeeded. */
async function connectError(p: Promise<{ close(): Promise<void> }>): Promise<Error> {
  const outcome = await p.then(
    async (nc) => {
      await nc.close();
      return undefined;
    },
    (err: unknown) => err as Error,
  );
  if (!outcome) throw new Error('expected the connection to be refused');
  return outcome;
}

function withCredentials(url: string, userinfo: string): string {
  return url.replace('nats://', `nats://${userinfo}@`);
}

describe(
  'nats auth - connectNats against a server that requires a user and password',
  {
    timeout: 20_000,
  },
  () => {
    it('connects with the right user and password', async () => {
      const nc = await connectNats({
        servers: [server.url],
        name: 'auth-test@vitest',
        log,
        user: USER,
        pass: PASSWORD,
      });
      expect(await nc.rtt()).toBeGreaterThanOrEqual(0);
      await nc.close();
    });

    it('connects with the credentials in the URL, which nats.js alone would drop', async () => {
      const url = withCredentials(server.url, `${USER}:${encodeURIComponent(PASSWORD)}`);
      // Why connectNats takes them off the URL: the client connects to host:port without them.
      const bare = await connectError(connect({ servers: url }));
      expect(bare.message).toMatch(/authorization violation/i);

      const nc = await connectNats({ servers: url, name: 'auth-test@vitest', log });
      expect(await nc.rtt()).toBeGreaterThanOrEqual(0);
      await nc.close();
      expect(JSON.stringify(lines)).not.toContain(PASSWORD);
    });

    it('refuses at once, naming the auth failure, without credentials or with a wrong password', async () => {
      for (const [creds, how] of [
        [{}, 'without credentials'],
        [{ user: USER, pass: WRONG_PASSWORD }, `as user "${USER}"`],
        [{ token: PASSWORD }, 'with a token'],
      ] as const) {
        const started = Date.now();
        const err = await connectError(
          connectNats({ servers: server.url, name: 'auth-test@vitest', log, ...creds }),
        );
        // Refused by the server, not a timeout (the handshake timeout is 5 s).
        expect(Date.now() - started).toBeLessThan(3_000);
        expect(err).toBeInstanceOf(SystemError);
        expect(err).toMatchObject({ code: 'NATS_AUTH_FAILED', retryable: false });
        expect(err.message).toContain(`NATS refused the connection to ${server.url} ${how}`);
        expect(err.message).toMatch(/Authorization Violation/i);
        expect(err.message).toContain('NATS_USER and NATS_PASSWORD');
        expect(err.message).not.toContain(WRONG_PASSWORD);
        expect(err.message).not.toContain(PASSWORD);
      }
    });

    it('redacts the credential keys from log lines', () => {
      const { log: own, lines: written } = captureLogs();
      own.info(
        { NATS_PASSWORD: PASSWORD, NATS_TOKEN: PASSWORD, nats: { user: USER, pass: PASSWORD } },
        'connect options',
      );
      expect(written[0]).toMatchObject({
        NATS_PASSWORD: '[REDACTED]',
        NATS_TOKEN: '[REDACTED]',
        nats: { user: USER, pass: '[REDACTED]' },
      });
      expect(JSON.stringify(written)).not.toContain(PASSWORD);
    });

    it('refuses inconsistent credentials before connecting', async () => {
      const opts = { servers: server.url, name: 'auth-test@vitest', log };
      await expect(connectNats({ ...opts, user: USER })).rejects.toThrow(
        new TypeError('connectNats: give both user and pass, or neither'),
      );
      await expect(connectNats({ ...opts, user: USER, pass: 'x', token: 't' })).rejects.toThrow(
        /a token or a user and pass, not both/,
      );
      await expect(
        connectNats({ ...opts, servers: withCredentials(server.url, 'a:b'), user: 'a', pass: 'b' }),
      ).rejects.toThrow(/both in a server URL and in the options/);
      await expect(
        connectNats({
          ...opts,
          servers: [withCredentials(server.url, 'a:b'), withCredentials(server.url, 'a:c')],
        }),
      ).rejects.toThrow(/different credentials/);
    });
  },
);

/** A log destination for an in-process service, keeping the raw text. */
function rawLog(): { destination: Writable; text: () => string } {
  let text = '';
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  return { destination, text: () => text };
}

function serviceEnv(overrides: Record<string, string>): Record<string, string> {
  return {
    NODE_ENV: 'test',
    LOG_LEVEL: 'debug',
    HTTP_HOST: '127.0.0.1',
    NATS_URL: server.url,
    NATS_PREFIX: `auth${randomBytes(3).toString('hex')}`,
    DATABASE_URL,
    POD_NAME: 'auth-0',
    ...overrides,
  };
}

function startInProcess(env: Record<string, string>) {
  const out = rawLog();
  const started = runService({
    name: 'nats-auth-test',
    version: '0.0.0',
    handleSignals: false,
    logDestination: out.destination,
    // HTTP_PORT 0 is not a valid configured port; any free one will do.
    loadConfig: () => ({ ...parseConfig(baseServiceEnv({ httpPort: 8097 }), env), HTTP_PORT: 0 }),
    setup: async (ctx) => {
      ctx.app.get('/ping', async () => ({ rttMs: await ctx.nc.rtt() }));
    },
  });
  return { started, log: out.text };
}

describe('nats auth - the service runtime', { timeout: 30_000 }, () => {
  it.each([
    ['NATS_USER and NATS_PASSWORD', () => ({ NATS_USER: USER, NATS_PASSWORD: PASSWORD })],
    [
      'credentials in NATS_URL',
      () => ({ NATS_URL: withCredentials(server.url, `${USER}:${PASSWORD}`) }),
    ],
  ])('starts and is ready with %s, and logs no password', async (_, creds) => {
    const { started, log: text } = startInProcess(serviceEnv(creds()));
    const service = await started;
    try {
      expect((await fetch(`${service.url}/readyz`)).status).toBe(200);
      expect((await fetch(`${service.url}/ping`)).status).toBe(200);
    } finally {
      await service.close();
    }
    expect(text()).toContain('"msg":"nats connected"');
    expect(text()).not.toContain(PASSWORD);
  });

  it('fails start-up with NATS_AUTH_FAILED and one fatal line, without the password', async () => {
    const { started, log: text } = startInProcess(
      serviceEnv({ NATS_USER: USER, NATS_PASSWORD: WRONG_PASSWORD }),
    );
    const err = await connectError(started.then((s) => ({ close: () => s.close() })));
    expect(err).toMatchObject({ code: 'NATS_AUTH_FAILED' });
    const fatal = text()
      .split('\n')
      .filter((l) => l.includes('"level":60'))
      .map((l) => JSON.parse(l) as { msg: string; err: { code: string; message: string } });
    expect(fatal).toHaveLength(1);
    expect(fatal[0]?.msg).toBe('cannot connect to NATS');
    expect(fatal[0]?.err.code).toBe('NATS_AUTH_FAILED');
    expect(fatal[0]?.err.message).toContain(`as user "${USER}"`);
    expect(text()).not.toContain(WRONG_PASSWORD);
  });
});

interface ProcessRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the fixture service as a real process. `untilReady` GETs /ping once it logged
 * `service ready`, then stops it with SIGTERM; otherwise it runs until it exits by itself.
 */
async function runFixture(
  env: Record<string, string>,
  untilReady = false,
): Promise<ProcessRun & { pingStatus?: number }> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=source', FIXTURE], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...serviceEnv({ HTTP_PORT: String(port), ...env }) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let pingStatus: number | undefined;
  child.stdout.on('data', (c: Buffer) => {
    stdout += c.toString();
    if (untilReady && pingStatus === undefined && stdout.includes('"msg":"service ready"')) {
      pingStatus = 0;
      void fetch(`http://127.0.0.1:${port}/ping`)
        .then((res) => (pingStatus = res.status))
        .finally(() => child.kill('SIGTERM'));
    }
  });
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { code, stdout, stderr, ...(pingStatus === undefined ? {} : { pingStatus }) };
}

describe('nats auth - a service process', { timeout: 60_000 }, () => {
  it('with NATS_USER and NATS_PASSWORD: ready, answers over NATS, never logs the password', async () => {
    const run = await runFixture({ NATS_USER: USER, NATS_PASSWORD: PASSWORD }, true);
    expect(run.pingStatus, run.stdout + run.stderr).toBe(200);
    expect(run.code).toBe(0);
    expect(run.stdout + run.stderr).not.toContain(PASSWORD);
  });

  it('with a wrong password or none: exits 1 at once, saying NATS refused the credentials', async () => {
    for (const [env, how] of [
      [{ NATS_USER: USER, NATS_PASSWORD: WRONG_PASSWORD }, `as user "${USER}"`],
      [{}, 'without credentials'],
    ] as const) {
      const started = Date.now();
      const run = await runFixture(env);
      expect(run.code, run.stdout + run.stderr).toBe(1);
      // Far below the 60 s a startup probe waits: the failure is an answer, not a hang.
      expect(Date.now() - started).toBeLessThan(20_000);
      const fatal = run.stdout
        .split('\n')
        .filter((l) => l.includes('"level":60'))
        .map((l) => JSON.parse(l) as { msg: string; err: { code: string; message: string } });
      expect(fatal.map((l) => [l.msg, l.err.code])).toEqual([
        ['cannot connect to NATS', 'NATS_AUTH_FAILED'],
      ]);
      expect(fatal[0]?.err.message).toContain(how);
      expect(run.stderr).toContain(`NATS refused the connection to ${server.url} ${how}`);
      expect(run.stdout + run.stderr).not.toContain(WRONG_PASSWORD);
    }
  });

  it('with NATS_USER but no NATS_PASSWORD: exits 1 with one configuration line', async () => {
    const run = await runFixture({ NATS_USER: USER });
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(
      'nats-auth-fixture: invalid configuration: NATS_PASSWORD: required with NATS_USER: ' +
        'set both NATS_USER and NATS_PASSWORD, or neither\n',
    );
  });
});

describe('nats auth - credentials rotated while a service runs', { timeout: 60_000 }, () => {
  it('the service shuts down and exits 1 once NATS refuses its credentials, so it is restarted with the new ones', async () => {
    const own = await startPrivateNats({ args: ['--user', USER, '--pass', PASSWORD] });
    try {
      const port = await freePort();
      const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=source', FIXTURE], {
        cwd: ROOT,
        env: {
          PATH: process.env.PATH ?? '',
          ...serviceEnv({
            HTTP_PORT: String(port),
            NATS_URL: own.url,
            NATS_USER: USER,
            NATS_PASSWORD: PASSWORD,
          }),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      const deadline = Date.now() + 30_000;
      while (!stdout.includes('"msg":"service ready"') && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(stdout).toContain('"msg":"service ready"');
      // The password is rotated: the server comes back on the same port with another one.
      await own.stop();
      await own.start(['--user', USER, '--pass', `${PASSWORD}rotated`]);
      const code = await Promise.race([
        exited,
        new Promise<'running'>((resolve) => setTimeout(() => resolve('running'), 40_000)),
      ]);
      if (code === 'running') child.kill('SIGKILL');
      expect(code, stdout).toBe(1);
      const fatal = stdout
        .split('\n')
        .filter((l) => l.includes('"level":60'))
        .map((l) => (JSON.parse(l) as { msg: string }).msg);
      expect(fatal).toEqual(['NATS connection closed for good: shutting down to be restarted']);
      expect(stdout).toContain('"msg":"shutdown complete"');
      expect(stdout).not.toContain(PASSWORD);
    } finally {
      await own.close();
    }
  });
});

describe('nats auth - the Kubernetes nats.conf authorization block', { timeout: 20_000 }, () => {
  let k8sServer: PrivateNats;
  // The shape nats.conf asks for (`p$(openssl rand -hex 32)`), digits right after the letter:
  // the server must read it as one string from the environment.
  const hexPassword = `p0123${randomBytes(30).toString('hex')}`;

  beforeAll(async () => {
    const conf = readFileSync(join(ROOT, 'k8s/base/nats/nats.conf'), 'utf8');
    const block = /^authorization\s*\{[^}]*\}/m.exec(conf)?.[0];
    if (!block) throw new Error('k8s/base/nats/nats.conf has no authorization block');
    const file = join(dir, 'auth.conf');
    writeFileSync(file, `${block}\n`);
    k8sServer = await startPrivateNats({
      args: ['-c', file],
      env: { NATS_USER: 'voice', NATS_PASSWORD: hexPassword },
    });
  });

  afterAll(async () => {
    await k8sServer?.close();
  });

  it('takes the user and password from the environment, as the StatefulSet sets them', async () => {
    const nc = await connectNats({
      servers: k8sServer.url,
      name: 'auth-test@vitest',
      log,
      user: 'voice',
      pass: hexPassword,
    });
    expect(await nc.rtt()).toBeGreaterThanOrEqual(0);
    await nc.close();
  });

  it('refuses a client without them', async () => {
    const err = await connectError(
      connectNats({ servers: k8sServer.url, name: 'auth-test@vitest', log }),
    );
    expect(err).toMatchObject({ code: 'NATS_AUTH_FAILED' });
  });
});
