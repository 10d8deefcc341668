/**
 * The SSRF guard over the real network. Local servers on 127.0.0.1 and [::1] stand in for what
 * an HTTP tool must not reach (the runner's loopback, cluster services, cloud metadata): a tool
 * whose URL is, or resolves to, such an address fails with DESTINATION_NOT_ALLOWED and the
 * servers receive nothing; the allow flag and the allowlist let it through; a redirect towards a
 * refused address goes nowhere. First the HTTP tool client with the guarded dispatcher (a custom
 * resolver stands in for DNS where a name must resolve to a chosen address), then the whole
 * runner over NATS with its production default.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { fetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { httpToolDefinitionSchema, type HttpToolDefinition } from '@app/tools';

import {
  DestinationNotAllowedError,
  guardedDispatcher,
  type ResolveHost,
} from '../../src/adapters/guarded-dispatcher.js';
import { httpToolClient } from '../../src/adapters/http-tool-client.js';
import {
  destinationPolicy,
  type DestinationPolicyOptions,
} from '../../src/domain/destination-policy.js';
import { ToolFailure } from '../../src/domain/tool-errors.js';
import { startHarness, type Harness } from './harness.js';

interface Hit {
  path: string;
  host: string | undefined;
}

interface LocalServer {
  server: Server;
  /** `http://127.0.0.1:<port>` or `http://[::1]:<port>` */
  base: string;
  port: number;
  hits: Hit[];
}

/** `/ok` answers 200; `/redirect?to=<url>` answers 302 to it. */
async function startServer(host: '127.0.0.1' | '::1'): Promise<LocalServer> {
  const hits: Hit[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    hits.push({ path: url.pathname, host: req.headers.host });
    if (url.pathname === '/redirect') {
      res.writeHead(302, { location: url.searchParams.get('to') ?? '/' });
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ reached: true }));
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return { server, port, hits, base: `http://${host.includes(':') ? `[${host}]` : host}:${port}` };
}

const tool = (url: string): HttpToolDefinition =>
  httpToolDefinitionSchema.parse({
    name: 'probe',
    description: 'A probe.',
    parameters: { type: 'object', properties: {} },
    url,
    method: 'GET',
    headers: { 'x-api-key': 'k-123' },
    signingSecret: null,
    timeoutMs: 2_000,
    // Retries would show as repeated resolutions (the resolver counts them): a refusal has none.
    maxRetries: 2,
    retryNonIdempotent: false,
    maxResponseBytes: 10_000,
    enabled: true,
  });

type Outcome =
  { ok: true; output: unknown } | { ok: false; code: string; message: string; retryable: boolean };

/** Runs one HTTP tool call through a fresh guarded client. */
async function callTool(
  url: string,
  policy: Partial<DestinationPolicyOptions> = {},
  resolve?: ResolveHost,
): Promise<Outcome> {
  const dispatcher = guardedDispatcher({
    policy: destinationPolicy({ allowPrivateNetworks: false, allowedHosts: [], ...policy }),
    ...(resolve ? { resolve } : {}),
  });
  const call = httpToolClient({ dispatcher, retryBaseMs: 10 });
  try {
    const output = await call({
      tool: tool(url),
      args: {},
      invocationId: 'call_guard_1',
      callId: 'call-1',
      signal: AbortSignal.timeout(8_000),
    });
    return { ok: true, output };
  } catch (err) {
    if (!(err instanceof ToolFailure)) throw err;
    return { ok: false, code: err.code, message: err.message, retryable: err.retryable };
  } finally {
    await dispatcher.close();
  }
}

/** A resolver answering `answers[name]`, recording each question. */
function fakeDns(answers: Record<string, string[]>): ResolveHost & { asked: string[] } {
  const asked: string[] = [];
  const resolve = (hostname: string) => {
    asked.push(hostname);
    const addresses = answers[hostname];
    if (!addresses) {
      return Promise.reject(
        Object.assign(new Error(`ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }),
      );
    }
    return Promise.resolve(
      addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })),
    );
  };
  return Object.assign(resolve, { asked });
}

const REFUSED = {
  ok: false,
  code: 'DESTINATION_NOT_ALLOWED',
  message: expect.stringContaining('private or internal network address'),
  retryable: false,
};

let v4: LocalServer;
let v6: LocalServer;

beforeAll(async () => {
  v4 = await startServer('127.0.0.1');
  v6 = await startServer('::1');
});

afterAll(async () => {
  for (const s of [v4, v6]) {
    s?.server.closeAllConnections();
    await new Promise((r) => s?.server.close(r));
  }
});

const reset = () => {
  v4.hits.length = 0;
  v6.hits.length = 0;
};

describe('SSRF guard - HTTP tool client', { timeout: 30_000 }, () => {
  it('refuses loopback by IPv4, IPv6, IPv4-mapped IPv6, 0.0.0.0 and localhost; nothing arrives', async () => {
    reset();
    const urls = [
      `${v4.base}/ok`,
      `${v6.base}/ok`,
      `http://[::ffff:127.0.0.1]:${v4.port}/ok`,
      `http://0.0.0.0:${v4.port}/ok`,
      // A name: refused on what the system resolver makes of it (/etc/hosts: 127.0.0.1).
      `http://localhost:${v4.port}/ok`,
    ];
    for (const url of urls) expect(await callTool(url), url).toEqual(REFUSED);
    expect(v4.hits).toEqual([]);
    expect(v6.hits).toEqual([]);
  });

  it('refuses cloud metadata, private, CGNAT and unique-local addresses without connecting', async () => {
    const started = Date.now();
    for (const url of [
      'http://169.254.169.254/latest/meta-data/iam/security-credentials/',
      'http://[fd00:ec2::254]/latest/meta-data/',
      'http://10.0.0.1/internal',
      'http://172.16.5.4:8080/admin',
      'http://192.168.1.1/',
      'http://100.64.0.1/',
      'http://[fe80::1]/',
      'http://[::ffff:10.0.0.1]/',
      'https://10.0.0.1/',
    ]) {
      expect(await callTool(url), url).toEqual(REFUSED);
    }
    // A connection attempt to these would wait out the 2 s tool timeout (or fail otherwise).
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('checks a name on what it resolves to at connection time, once (no retries)', async () => {
    reset();
    const dns = fakeDns({
      // A name that looks harmless and resolves to loopback (DNS rebinding's second answer).
      'tools.example.test': ['127.0.0.1'],
      // One bad address among good ones is enough.
      'mixed.example.test': ['93.184.216.34', '10.1.2.3'],
      'metadata.example.test': ['::ffff:169.254.169.254'],
    });
    for (const name of ['tools.example.test', 'mixed.example.test', 'metadata.example.test']) {
      expect(await callTool(`http://${name}:${v4.port}/ok`, {}, dns), name).toEqual(REFUSED);
    }
    expect(dns.asked).toEqual([
      'tools.example.test',
      'mixed.example.test',
      'metadata.example.test',
    ]);
    expect(v4.hits).toEqual([]);
  });

  it('lets every address through with allowPrivateNetworks (HTTP_TOOL_ALLOW_PRIVATE_NETWORKS)', async () => {
    reset();
    const open = { allowPrivateNetworks: true };
    for (const url of [`${v4.base}/ok`, `${v6.base}/ok`, `http://localhost:${v4.port}/ok`]) {
      expect(await callTool(url, open), url).toEqual({ ok: true, output: { reached: true } });
    }
    expect(v4.hits).toHaveLength(2);
    expect(v6.hits).toHaveLength(1);
  });

  it('lets through only what the allowlist (HTTP_TOOL_ALLOWED_HOSTS) names', async () => {
    reset();
    const reached = { ok: true, output: { reached: true } };
    // A host name: allowed at its private address; the same address by IP is not.
    expect(
      await callTool(`http://localhost:${v4.port}/ok`, { allowedHosts: ['localhost'] }),
    ).toEqual(reached);
    expect(await callTool(`${v4.base}/ok`, { allowedHosts: ['localhost'] })).toEqual(REFUSED);
    // A CIDR: IPv4 loopback, not IPv6 loopback; an IPv6 address on its own.
    expect(await callTool(`${v4.base}/ok`, { allowedHosts: ['127.0.0.0/8'] })).toEqual(reached);
    expect(await callTool(`${v6.base}/ok`, { allowedHosts: ['127.0.0.0/8'] })).toEqual(REFUSED);
    expect(await callTool(`${v6.base}/ok`, { allowedHosts: ['::1'] })).toEqual(reached);
    // A wildcard for in-cluster names: the connection goes to the resolved address, under the name.
    const dns = fakeDns({ 'crm.tools.test': ['127.0.0.1'], 'crm.other.test': ['127.0.0.1'] });
    const cluster = { allowedHosts: ['*.tools.test'] };
    expect(await callTool(`http://crm.tools.test:${v4.port}/ok`, cluster, dns)).toEqual(reached);
    expect(await callTool(`http://crm.other.test:${v4.port}/ok`, cluster, dns)).toEqual(REFUSED);

    expect(v4.hits).toEqual([
      { path: '/ok', host: `localhost:${v4.port}` },
      { path: '/ok', host: `127.0.0.1:${v4.port}` },
      { path: '/ok', host: `crm.tools.test:${v4.port}` },
    ]);
    expect(v6.hits).toEqual([{ path: '/ok', host: `[::1]:${v6.port}` }]);
  });

  it('does not follow a redirect from an allowed host to a private one', async () => {
    reset();
    const toPrivate = `${v4.base}/redirect?to=${encodeURIComponent(`${v6.base}/ok`)}`;
    const result = await callTool(toPrivate, { allowedHosts: ['127.0.0.1'] });

    expect(result).toEqual({
      ok: false,
      code: 'TOOL_FAILED',
      message: expect.stringContaining('HTTP 302 (a redirect, which is not followed)'),
      retryable: false,
    });
    expect(v4.hits).toEqual([{ path: '/redirect', host: `127.0.0.1:${v4.port}` }]);
    expect(v6.hits).toEqual([]);
  });

  it('refuses every hop of a followed redirect too (the guard is on the connection)', async () => {
    reset();
    const dispatcher = guardedDispatcher({
      policy: destinationPolicy({ allowPrivateNetworks: false, allowedHosts: ['127.0.0.1'] }),
    });
    try {
      for (const target of [`${v6.base}/ok`, 'http://169.254.169.254/latest/meta-data/']) {
        const url = `${v4.base}/redirect?to=${encodeURIComponent(target)}`;
        const err = await fetch(url, { dispatcher, redirect: 'follow' }).then(
          () => null,
          (e: unknown) => e,
        );
        expect(err, target).toBeInstanceOf(TypeError);
        expect((err as Error).cause, target).toBeInstanceOf(DestinationNotAllowedError);
      }
    } finally {
      await dispatcher.close();
    }
    expect(v4.hits.map((h) => h.path)).toEqual(['/redirect', '/redirect']);
    expect(v6.hits).toEqual([]);
  });
});

describe('SSRF guard - the runner with its production default', { timeout: 60_000 }, () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ httpDestinations: { allowPrivateNetworks: false, allowedHosts: [] } });
    await h.prisma.httpTool.create({
      data: {
        name: 'metadata_probe',
        description: 'Reads the instance metadata.',
        parameters: { type: 'object', properties: {} },
        url: 'http://169.254.169.254/latest/meta-data/',
        method: 'GET',
      },
    });
    const agent = await h.prisma.agent.findUniqueOrThrow({ where: { id: h.agentId } });
    await h.prisma.agent.update({
      where: { id: h.agentId },
      data: { toolNames: [...agent.toolNames, 'metadata_probe'] },
    });
  }, 60_000);

  afterAll(async () => {
    await h?.close();
  }, 60_000);

  it('fails the invocation with DESTINATION_NOT_ALLOWED, logged and counted; nothing is sent', async () => {
    const callId = await h.newCall();

    const local = await h.invoke(callId, 'lookup_order', { orderId: '42' });
    const metadata = await h.invoke(callId, 'metadata_probe', {});

    for (const result of [local, metadata]) {
      expect(result).toEqual({
        ok: false,
        error: {
          code: 'DESTINATION_NOT_ALLOWED',
          message: expect.stringContaining('private or internal network address'),
          retryable: false,
        },
      });
    }
    expect(h.received('/signed/orders')).toEqual([]);

    const metrics = await h.registry.metrics();
    expect(metrics).toMatch(
      /tool_runner_errors_total\{tool="lookup_order",code="DESTINATION_NOT_ALLOWED"\} 1/,
    );
    expect(metrics).toMatch(
      /tool_runner_errors_total\{tool="metadata_probe",code="DESTINATION_NOT_ALLOWED"\} 1/,
    );
    expect(h.logs).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          msg: 'http tool destination not allowed',
          tool: 'lookup_order',
          host: '127.0.0.1',
          address: '127.0.0.1',
          range: 'loopback',
        }),
        expect.objectContaining({
          msg: 'http tool destination not allowed',
          tool: 'metadata_probe',
          address: '169.254.169.254',
          range: 'linkLocal',
        }),
        expect.objectContaining({
          msg: 'tool invocation failed',
          tool: 'metadata_probe',
          code: 'DESTINATION_NOT_ALLOWED',
        }),
      ]),
    );
  });
});
