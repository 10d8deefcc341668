/**
 * Tests that try to get in through the data (issue 10): SQL injection strings in every text
 * field and filter of the admin API, and script injection in every text the dashboard shows
 * (agent, human-agent, campaign, user and key names, transcripts a caller can fill with
 * anything, tool names). Text is stored and returned verbatim, as JSON, and never changes a
 * query; the dashboard renders it through Preact, which escapes it, and has no raw-HTML sink.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { securityFixture, type SecurityFixture } from './security-fixture.js';

let f: SecurityFixture;

beforeAll(async () => {
  f = await securityFixture();
}, 120_000);

afterAll(async () => {
  await f?.close();
});

const SQL = [
  "'; DROP TABLE agents; --",
  "' OR '1'='1",
  '" OR ""="',
  "1; DELETE FROM users WHERE '1'='1",
  "admin'--",
  "') UNION SELECT hashed_key, prefix FROM api_keys --",
  '%',
  '_',
  '\\',
  '$1',
];
const SCRIPT = [
  '<script>alert(1)</script>',
  '<img src=x onerror=alert(1)>',
  '"><svg/onload=alert(1)>',
  "javascript:alert('x')",
  '</script><script>alert(document.cookie)</script>',
  '{{constructor.constructor("alert(1)")()}}',
  '=HYPERLINK("https://evil.example.com","click")',
];
const PAYLOADS = [...SQL, ...SCRIPT];

/** What must survive every attempt: the tables and their rows. */
async function tableCounts() {
  const [agents, users, apiKeys, calls] = await Promise.all([
    f.prisma.agent.count(),
    f.prisma.user.count(),
    f.prisma.apiKey.count(),
    f.prisma.call.count(),
  ]);
  return { agents, users, apiKeys, calls };
}

function expectJson(res: { headers: Record<string, unknown> }, label: string) {
  expect(res.headers['content-type'], label).toMatch(/^application\/json/);
}

describe('security - injection', { timeout: 180_000 }, () => {
  it('stores every text field verbatim and returns it as JSON: agents, human agents, campaigns, users, keys, do-not-call reasons', async () => {
    for (const [i, text] of PAYLOADS.entries()) {
      const label = JSON.stringify(text);
      const agent = await f.call('POST', '/v1/agents', {
        name: text,
        instructions: text,
        greeting: text,
      });
      expect(agent.statusCode, label).toBe(201);
      const { id } = agent.json<{ id: string }>();
      const read = await f.call('GET', `/v1/agents/${id}`);
      expectJson(read, label);
      expect(read.json(), label).toMatchObject({ name: text, instructions: text, greeting: text });

      const human = await f.call('POST', '/v1/human-agents', {
        name: text,
        phoneNumber: `+1555555${String(1000 + i)}`,
      });
      expect(human.statusCode, label).toBe(201);
      const humanRead = await f.call('GET', `/v1/human-agents/${human.json<{ id: string }>().id}`);
      expectJson(humanRead, label);
      expect(humanRead.json<{ name: string }>().name, label).toBe(text);

      const campaign = await f.call('POST', '/v1/campaigns', { name: text, agentId: f.agentId });
      expect(campaign.statusCode, label).toBe(201);
      const campaignRead = await f.call(
        'GET',
        `/v1/campaigns/${campaign.json<{ id: string }>().id}`,
      );
      expectJson(campaignRead, label);
      expect(campaignRead.json<{ name: string }>().name, label).toBe(text);

      const user = await f.call('POST', '/v1/users', {
        email: `user${i}@example.com`,
        name: text,
        role: 'viewer',
        password: 'a long enough password',
      });
      expect(user.statusCode, label).toBe(201);
      expect(user.json<{ name: string }>().name, label).toBe(text);

      const key = await f.call('POST', '/v1/api-keys', { name: text, role: 'viewer' });
      expect(key.statusCode, label).toBe(201);
      expect(key.json<{ name: string }>().name, label).toBe(text);

      const dnc = await f.call('POST', '/v1/do-not-call', {
        phone: `+1555556${String(1000 + i)}`,
        reason: text,
      });
      expect(dnc.statusCode, label).toBe(201);
      expect(dnc.json<{ reason: string }>().reason, label).toBe(text);
    }
    // Nothing was dropped or deleted; the rows are exactly the ones created.
    expect(await f.prisma.agent.count({ where: { name: { in: PAYLOADS } } })).toBe(PAYLOADS.length);
    expect(await f.prisma.user.count()).toBe(3 + PAYLOADS.length);
  });

  it('transcripts and tool invocations (what a caller or a model says) come back verbatim as JSON, and CSV cells cannot run formulas', async () => {
    const agent = await f.prisma.agent.create({
      data: { name: '=HYPERLINK("https://evil.example.com")', instructions: 'x' },
    });
    const call = await f.prisma.call.create({
      data: {
        direction: 'inbound',
        transport: 'media_streams',
        fromNumber: '+15555550142',
        toNumber: '+15555550100',
        status: 'completed',
        agentId: agent.id,
      },
    });
    await f.prisma.transcriptTurn.createMany({
      data: PAYLOADS.map((text, sequence) => ({
        callId: call.id,
        role: sequence % 2 ? 'assistant' : 'user',
        text,
        sequence,
        sourceEventId: `evt-${call.id}-${sequence}`,
      })),
    });
    await f.prisma.toolInvocation.createMany({
      data: PAYLOADS.map((text, n) => ({
        invocationId: `call_${call.id}_${n}`,
        callId: call.id,
        name: text,
        args: { query: text },
        error: text,
      })),
    });
    const res = await f.call('GET', `/v1/calls/${call.id}`, undefined, 'viewer');
    expect(res.statusCode).toBe(200);
    expectJson(res, 'call detail');
    const detail = res.json<{
      agentName: string;
      transcript: Array<{ text: string }>;
      toolInvocations: Array<{ name: string; args: { query: string } }>;
    }>();
    expect(detail.agentName).toBe(agent.name);
    expect(detail.transcript.map((t) => t.text)).toEqual(PAYLOADS);
    expect(new Set(detail.toolInvocations.map((t) => t.name))).toEqual(new Set(PAYLOADS));
    expect(new Set(detail.toolInvocations.map((t) => t.args.query))).toEqual(new Set(PAYLOADS));

    const csv = await f.call(
      'GET',
      `/v1/calls/export.csv?agentId=${agent.id}`,
      undefined,
      'viewer',
    );
    expect(csv.statusCode).toBe(200);
    expect(csv.headers['content-type']).toMatch(/^text\/csv/);
    const rows = parse(csv.body, { columns: true }) as Array<Record<string, string>>;
    expect(rows).toHaveLength(1);
    // Prefixed with ' so a spreadsheet shows the text instead of evaluating it.
    expect(rows[0]?.agentName).toBe(`'${agent.name}`);
  });

  it('SQL in every filter and id of the admin API changes no query: 200 with nothing matched, or 400, never 500', async () => {
    // Something every unfiltered list would return.
    await f.call('POST', '/v1/agents', { name: 'plain agent', instructions: 'x' });
    await f.prisma.call.create({
      data: {
        direction: 'inbound',
        transport: 'media_streams',
        fromNumber: '+15555550142',
        toNumber: '+15555550100',
        status: 'completed',
        endReason: 'completed',
      },
    });
    const before = await tableCounts();
    const lists: Array<[string, string[]]> = [
      ['/v1/agents', ['q', 'limit', 'cursor']],
      [
        '/v1/calls',
        [
          'from',
          'to',
          'agentId',
          'campaignId',
          'direction',
          'status',
          'endReason',
          'q',
          'limit',
          'cursor',
        ],
      ],
      [
        '/v1/calls/export.csv',
        ['from', 'to', 'agentId', 'campaignId', 'direction', 'status', 'endReason', 'q'],
      ],
      ['/v1/stats', ['from', 'to', 'agentId', 'campaignId', 'bucket']],
      ['/v1/campaigns', ['limit', 'cursor']],
      ['/v1/phone-numbers', ['agentId', 'pool', 'limit', 'cursor']],
      ['/v1/do-not-call', ['phone', 'limit', 'cursor']],
      ['/v1/human-agents', ['status', 'skill']],
      ['/v1/http-tools', ['limit', 'cursor']],
      ['/v1/users', []],
      ['/v1/api-keys', []],
    ];
    for (const [path, params] of lists) {
      for (const param of params) {
        for (const value of SQL) {
          const url = `${path}?${new URLSearchParams({ [param]: value })}`;
          const res = await f.call('GET', url);
          expect([200, 400], `${url} -> ${res.statusCode} ${res.body.slice(0, 200)}`).toContain(
            res.statusCode,
          );
          if (res.statusCode !== 200 || path.endsWith('.csv') || path === '/v1/stats') continue;
          // A text filter returns only rows holding that very text (wildcards included).
          const items = res.json<{ items: Array<Record<string, unknown>> }>().items;
          const holds: Record<string, (item: Record<string, unknown>) => boolean> = {
            q: (item) =>
              String(item.name ?? item.fromNumber)
                .toLowerCase()
                .includes(value.toLowerCase()),
            endReason: (item) => item.endReason === value,
            skill: (item) => (item.skills as string[]).includes(value),
          };
          const check = holds[param];
          if (check) {
            for (const item of items)
              expect(check(item), `${url} returned ${JSON.stringify(item)}`).toBe(true);
          }
        }
      }
    }
    // Ids in paths: 404 (or 400), never a match or a 500.
    for (const path of [
      '/v1/agents/',
      '/v1/calls/',
      '/v1/campaigns/',
      '/v1/phone-numbers/',
      '/v1/human-agents/',
      '/v1/http-tools/',
      '/v1/users/',
    ]) {
      for (const value of SQL) {
        const url = `${path}${encodeURIComponent(value)}`;
        const res = await f.call('GET', url);
        expect([400, 404], `${url} -> ${res.statusCode}`).toContain(res.statusCode);
      }
    }
    expect(await tableCounts()).toEqual(before);
  });

  it('the dashboard has no raw-HTML sink: no dangerouslySetInnerHTML, innerHTML, insertAdjacentHTML, document.write or eval', async () => {
    const src = fileURLToPath(new URL('../../../packages/dashboard/src', import.meta.url));
    const files: string[] = [];
    const walk = async (dir: string) => {
      for (const entry of await readdir(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) await walk(path);
        else if (/\.(ts|tsx|js|jsx)$/.test(entry.name)) files.push(path);
      }
    };
    await walk(src);
    expect(files.length).toBeGreaterThan(5);
    const sinks =
      /dangerouslySetInnerHTML|\.innerHTML|\.outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function\(/;
    const offenders = [];
    for (const file of files) {
      if (sinks.test(await readFile(file, 'utf8'))) offenders.push(file);
    }
    expect(offenders).toEqual([]);
  });
});

describe('NUL characters, which PostgreSQL text cannot hold', () => {
  it('are refused with a 400 naming the field, in a body, a filter or a path, and nothing is stored', async () => {
    const before = await tableCounts();
    const created = await f.call('POST', '/v1/agents', {
      name: 'desk\u0000two',
      instructions: 'Be brief.',
    });
    expect(created.statusCode).toBe(400);
    expect(created.json()).toMatchObject({
      error: 'invalid text',
      issues: [{ field: 'body.name', code: 'nul_character' }],
    });
    const filtered = await f.call(
      'GET',
      '/v1/calls?endReason=caller%00-hangup',
      undefined,
      'viewer',
    );
    expect(filtered.statusCode).toBe(400);
    expect(filtered.json()).toMatchObject({ issues: [{ field: 'query.endReason' }] });
    const path = await f.call('GET', `/v1/agents/${f.agentId}%00`, undefined, 'viewer');
    expect(path.statusCode).toBe(400);
    const signIn = await f.inject({
      method: 'POST',
      url: '/v1/session',
      payload: { email: 'admin@example.com\u0000', password: 'x' },
    });
    expect(signIn.statusCode).toBe(400);
    expect(await tableCounts()).toEqual(before);
  });
});
