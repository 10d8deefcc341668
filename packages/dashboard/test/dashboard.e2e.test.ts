/**
 * The dashboard in a real browser (Debian's chromium driven by playwright-core) against the real
 * system: the gateway and a call-bridge as child processes, real PostgreSQL and NATS, and the
 * Twilio/OpenAI simulators placing a call. Walks through what an operator does — sign in, watch
 * a call live (and hang it up), read its report, export CSV, pause and resume a campaign, set a
 * human agent's presence, look at the metrics — and saves a screenshot of each page to
 * packages/dashboard/test-results/e2e/.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createPrismaClient, type PrismaClient } from '@app/db';
import { createTestDatabase, type TestDatabase } from '@app/db/testing';
import { parseScenario, type Simulators } from '@app/sim';

import { createApiKey } from '../../../services/gateway/src/adapters/api-keys.js';
import { createUser } from '../../../services/gateway/src/adapters/users.js';
import { until } from '../../../test/services/service-process.js';
import { SystemStack } from '../../../test/services/system-stack.js';
import { DASHBOARD_DIR, ensureDashboardBuilt } from './ensure-built.js';

const OUR_NUMBER = '+15555550100';
const CALLER = '+15555550177';
const SECRET = 'dashboard-e2e-stream-token-secret-00000';
const EMAIL = 'operator@example.com';
const PASSWORD = 'correct horse battery staple';
const SCREENSHOTS = join(DASHBOARD_DIR, 'test-results', 'e2e');
const GREETING = 'Hello, you reached the clinic. How can I help?';
const CALLER_SAYS = 'I would like to move my appointment, please.';
/**
 * The strict policy issue 10 puts on the gateway, added here to every dashboard page: any inline
 * script or style, or a request elsewhere, is a console error and fails the last test.
 */
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
  "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/** A caller who talks, then stays on the line until an operator hangs up. */
const scenario = parseScenario({
  name: 'dashboard-e2e',
  caller: {
    steps: [
      { waitForAgent: { quietMs: 700, timeoutMs: 20_000 } },
      { say: CALLER_SAYS },
      { waitForAgent: { quietMs: 700, timeoutMs: 20_000 } },
      { pauseMs: 600_000 },
      { hangup: true },
    ],
  },
  model: {
    greeting: GREETING,
    turns: [{ say: 'Of course, one moment while I look.' }],
    fallback: 'Sorry, could you say that again?',
  },
});

/** Chromium as the machine notes say: no sandbox (root), no background traffic, fresh profile. */
function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

describe('dashboard in chromium against the running system', () => {
  const system = new SystemStack();
  let db: TestDatabase;
  let prisma: PrismaClient;
  let sims: Simulators;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let gatewayUrl = '';
  let apiKey = '';
  let agentId = '';
  let userId = '';
  let callId = '';
  /** What the page threw or logged as an error: a clean run has none (CSP-ready, no crash). */
  const pageErrors: string[] = [];

  const apiFetch = async (path: string, init: { method?: string; body?: unknown } = {}) => {
    const res = await fetch(`${gatewayUrl}${path}`, {
      method: init.method ?? 'GET',
      headers: {
        authorization: `Bearer ${apiKey}`,
        ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    });
    return { status: res.status, body: (await res.json().catch(() => null)) as unknown };
  };
  /** Runs a step; when it fails, the services' own logs go with the error. */
  const withLogs = async (step: () => Promise<void>) => {
    try {
      await step();
    } catch (err) {
      throw new Error(`${err instanceof Error ? err.message : String(err)}\n${system.logs()}`, {
        cause: err,
      });
    }
  };
  const shot = (name: string) =>
    page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    await ensureDashboardBuilt();

    db = await createTestDatabase();
    prisma = createPrismaClient({ databaseUrl: db.databaseUrl, poolMax: 4 });
    const agent = await prisma.agent.create({
      data: { name: 'clinic-receptionist', instructions: 'You answer the clinic.' },
    });
    agentId = agent.id;
    await prisma.phoneNumber.create({ data: { e164: OUR_NUMBER, agentId } });
    await prisma.humanAgent.create({
      data: { name: 'Front desk', skills: ['reception'], phoneNumber: '+15555550150' },
    });
    // The same hashing as the gateway's sign-in (the user store of the gateway itself).
    userId = (
      await createUser(prisma, { email: EMAIL, name: 'Olga', role: 'operator', password: PASSWORD })
    ).id;
    apiKey = (await createApiKey(prisma, { name: 'dashboard e2e', role: 'admin' })).key;
    await system.start({
      databaseUrl: db.databaseUrl,
      streamTokenSecret: SECRET,
      gatewayEnv: { DASHBOARD_DIR: join(DASHBOARD_DIR, 'dist') },
      // Moves calls to humans (the transfer action); no delay before the move in a test.
      services: [
        { name: 'handoff', pod: 'handoff-0', env: () => ({ HANDOFF_TRANSFER_DELAY_MS: '0' }) },
      ],
    });
    ({ gatewayUrl, sims } = system);

    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await context.route(
      (url) => url.origin === gatewayUrl && !/^\/(v1|assets)\//.test(url.pathname),
      async (route) => {
        const response = await route.fetch();
        await route.fulfill({
          response,
          headers: { ...response.headers(), 'content-security-policy': CSP },
        });
      },
    );
    page = await context.newPage();
    page.on('pageerror', (err) => pageErrors.push(`pageerror: ${err.message}`));
    page.on('console', (msg) => {
      // A refused request (the 401 of "no session yet") is logged by the browser itself.
      if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) {
        pageErrors.push(`console: ${msg.text()}`);
      }
    });
  }, 180_000);

  afterAll(async () => {
    await context?.close().catch(() => undefined);
    await browser?.close().catch(() => undefined);
    await system.stop();
    await prisma?.$disconnect();
    await db?.drop();
  }, 60_000);

  it('serves the built dashboard at / with its assets', async () => {
    const res = await fetch(`${gatewayUrl}/`, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-cache');
    const html = await res.text();
    const script = /<script type="module" crossorigin src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    // No inline script or style: the page works under a `'self'`-only CSP.
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/\sstyle=/);
    const asset = await fetch(`${gatewayUrl}${script ?? ''}`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
  });

  it('signs in: a wrong password is refused, the right one opens the live view', async () => {
    const nav = await page.goto(`${gatewayUrl}/`);
    expect(nav?.headers()['content-security-policy']).toBe(CSP);
    await page.getByTestId('sign-in-email').fill(EMAIL);
    await page.getByTestId('sign-in-password').fill('not the password at all');
    await page.getByTestId('sign-in-submit').click();
    await page.getByTestId('sign-in-error').waitFor();
    expect(await page.getByTestId('sign-in-error').textContent()).toContain(
      'Wrong email or password',
    );
    await shot('01-sign-in-refused');

    await page.getByTestId('sign-in-password').fill(PASSWORD);
    await page.getByTestId('sign-in-submit').click();
    await page.getByTestId('live-page').waitFor();
    expect(await page.getByTestId('signed-in-as').textContent()).toContain(EMAIL);
    expect(new URL(page.url()).pathname).toBe('/live');
    // The session is an HttpOnly cookie the page's scripts cannot read.
    const cookies = await context.cookies(gatewayUrl);
    expect(cookies.length).toBeGreaterThan(0);
    expect(cookies.every((c) => c.httpOnly)).toBe(true);
  }, 30_000);

  it(
    'shows a simulated call live with its transcript, and hangs it up on confirmation',
    () =>
      withLogs(async () => {
        await page.getByTestId('live-connection').filter({ hasText: 'live' }).waitFor();
        await sims.control.placeCall({ to: OUR_NUMBER, from: CALLER, scenario });

        const row = page.getByTestId('live-call-row').filter({ hasText: CALLER });
        await row.waitFor({ timeout: 30_000 });
        callId = (await row.getAttribute('data-call-id')) ?? '';
        expect(callId).not.toBe('');
        // Who and which agent (by name, though the call's events carry only its id).
        await row.filter({ hasText: 'clinic-receptionist' }).waitFor();
        await row.click();
        const transcript = page.getByTestId('live-transcript');
        await transcript.getByText(GREETING).waitFor({ timeout: 30_000 });
        await transcript.getByText(CALLER_SAYS).waitFor({ timeout: 30_000 });
        expect(await row.getByTestId('live-call-state').textContent()).not.toContain('ended');
        await page.getByTestId('live-events').getByText('answered').first().waitFor();
        await shot('02-live-call');

        // Hang up asks first; "No" leaves the call alone.
        await page.getByTestId('hangup').click();
        await page.getByTestId('hangup-cancel').click();
        await page.getByTestId('hangup').click();
        await page.getByTestId('hangup-confirm').click();
        await page.getByTestId('action-result').waitFor();
        await row
          .getByTestId('live-call-state')
          .filter({ hasText: 'ended' })
          .waitFor({ timeout: 30_000 });
        // The history loaded on opening the call and the live events overlap: each shows once.
        const events = page.getByTestId('live-events');
        expect(await events.locator('[data-type="answered"]').count()).toBe(1);
        expect(await events.locator('[data-type="ended"]').count()).toBe(1);
        await shot('03-live-call-hung-up');
        const audit = await prisma.auditLog.findFirst({
          where: { action: 'call.hangup', resourceId: callId },
        });
        expect(audit?.actor).toBe(`user:${userId}`);
      }),
    90_000,
  );

  it('finds the call in the report and opens its detail with timeline and transcript', async () => {
    // The call record is written by the gateway's projector from the CALLS stream.
    await until(async () => {
      const call = await prisma.call.findUnique({ where: { id: callId } });
      return call?.endedAt ? call : undefined;
    }, 30_000);
    await page.getByTestId('nav-reports').click();
    await page.getByTestId('reports-page').waitFor();
    const row = page.locator(`[data-testid="report-row"][data-call-id="${callId}"]`);
    await row.waitFor({ timeout: 15_000 });
    expect(await row.textContent()).toContain(CALLER);
    expect(await row.textContent()).toContain('clinic-receptionist');
    await shot('04-reports');

    await row.click();
    await page.getByTestId('call-detail').waitFor();
    const transcript = page.getByTestId('call-transcript');
    await transcript.getByText(GREETING).waitFor();
    await transcript.getByText(CALLER_SAYS).waitFor();
    const timeline = page.getByTestId('call-timeline');
    await timeline.getByTestId('timeline-event').first().waitFor();
    const types = await Promise.all(
      (await timeline.getByTestId('timeline-event').all()).map((e) => e.getAttribute('data-type')),
    );
    expect(types).toEqual(expect.arrayContaining(['answered', 'ended']));
    await shot('05-call-detail');
  }, 60_000);

  it('downloads the CSV export of the report with the call in it', async () => {
    await page.getByTestId('back-to-reports').click();
    await page.getByTestId('reports-page').waitFor();
    await page.getByTestId('filter-direction').selectOption('inbound');
    await page.getByTestId('filter-apply').click();
    await page.locator(`[data-testid="report-row"][data-call-id="${callId}"]`).waitFor();
    const href = await page.getByTestId('export-csv').getAttribute('href');
    expect(href).toMatch(/^\/v1\/calls\/export\.csv\?.*direction=inbound/);

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByTestId('export-csv').click(),
    ]);
    expect(download.suggestedFilename()).toMatch(/^calls-.*\.csv$/);
    const csv = readFileSync(await download.path(), 'utf8');
    const [header, ...rows] = csv.trim().split(/\r?\n/);
    expect(header).toMatch(/\bid\b/);
    const ours = rows.filter((r) => r.includes(callId));
    expect(ours).toHaveLength(1);
    expect(ours[0]).toContain(CALLER);
    expect(ours[0]).toContain('inbound');
    await shot('06-reports-filtered');
  }, 30_000);

  it('pauses and resumes a running campaign from the campaigns page', async () => {
    const created = await apiFetch('/v1/campaigns', {
      method: 'POST',
      body: { name: 'Spring check-ups', agentId, fromNumbers: [OUR_NUMBER] },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const campaignId = (created.body as { id: string }).id;
    const contacts = await apiFetch(`/v1/campaigns/${campaignId}/contacts`, {
      method: 'POST',
      body: [
        { phone: '+15555550131', name: 'Ada' },
        { phone: '+15555550132', name: 'Grace' },
      ],
    });
    expect(contacts.status, JSON.stringify(contacts.body)).toBe(200);
    expect((await apiFetch(`/v1/campaigns/${campaignId}/start`, { method: 'POST' })).status).toBe(
      200,
    );
    const statusOf = async () =>
      ((await apiFetch(`/v1/campaigns/${campaignId}`)).body as { status: string }).status;

    await page.getByTestId('nav-campaigns').click();
    const row = page.locator(`[data-testid="campaign-row"][data-campaign-id="${campaignId}"]`);
    await row.getByTestId('campaign-status').filter({ hasText: 'running' }).waitFor();
    // Nobody dials in this test (no campaign-scheduler): both contacts are still to call.
    expect(await row.getByTestId('campaign-progress').textContent()).toBe('0 / 2');
    await row.getByTestId('campaign-pause').click();
    await row.getByTestId('campaign-status').filter({ hasText: 'paused' }).waitFor();
    expect(await statusOf()).toBe('paused');
    await shot('07-campaign-paused');

    await row.getByTestId('campaign-resume').click();
    await row.getByTestId('campaign-status').filter({ hasText: 'running' }).waitFor();
    expect(await statusOf()).toBe('running');
    const audit = await prisma.auditLog.findMany({
      where: { resourceId: campaignId, actor: `user:${userId}` },
      orderBy: { at: 'asc' },
    });
    expect(audit.map((a) => a.action)).toEqual(
      expect.arrayContaining([expect.stringMatching(/pause/), expect.stringMatching(/resume/)]),
    );
    await shot('08-campaign-resumed');
  }, 30_000);

  it('sets a human agent available from the human agents page', async () => {
    await page.getByTestId('nav-human-agents').click();
    const row = page.getByTestId('human-agent-row').filter({ hasText: 'Front desk' });
    await row.waitFor();
    await row.getByTestId('presence-select').selectOption('available');
    await until(async () => {
      const h = await prisma.humanAgent.findFirst({ where: { name: 'Front desk' } });
      return h?.status === 'available' ? h : undefined;
    }, 10_000);
    await shot('09-human-agents');
  }, 30_000);

  it(
    'transfers a live call to the available human on confirmation and notifies',
    () =>
      withLogs(async () => {
        const caller = '+15555550178';
        await page.getByTestId('nav-live').click();
        await page.getByTestId('live-connection').filter({ hasText: 'live' }).waitFor();
        await sims.control.placeCall({ to: OUR_NUMBER, from: caller, scenario });
        const row = page.getByTestId('live-call-row').filter({ hasText: caller });
        await row.waitFor({ timeout: 30_000 });
        const id = (await row.getAttribute('data-call-id')) ?? '';
        await row.click();
        await page.getByTestId('live-transcript').getByText(GREETING).waitFor({ timeout: 30_000 });

        await page.getByTestId('transfer').click();
        await page.getByTestId('transfer-skill').fill('reception');
        await page.getByTestId('transfer-confirm').click();
        await page.getByTestId('action-result').filter({ hasText: 'Transfer requested' }).waitFor();
        await page
          .getByTestId('live-events')
          .locator('[data-type="handoff-requested"]')
          .first()
          .waitFor({ timeout: 30_000 });
        await shot('10-live-call-transferred');
        const audit = await prisma.auditLog.findFirst({
          where: { action: 'call.transfer', resourceId: id },
        });
        expect(audit?.actor).toBe(`user:${userId}`);

        // The handoff shows up among the notifications of the human agents page.
        await page.getByTestId('nav-human-agents').click();
        // From the call's own events, and from the handoff service to the human chosen.
        await page
          .locator('[data-testid="notification"][data-kind="handoff"]')
          .first()
          .waitFor({ timeout: 30_000 });
        await page
          .locator('[data-testid="notification"][data-kind="human-agent"]')
          .filter({ hasText: 'Front desk' })
          .first()
          .waitFor({ timeout: 30_000 });
        await shot('11-handoff-notifications');
      }),
    90_000,
  );

  it('pages through the report, newest call first', async () => {
    await until(async () => ((await prisma.call.count()) === 2 ? true : undefined), 30_000);
    await page.goto(`${gatewayUrl}/reports?limit=1`);
    const rows = page.getByTestId('report-row');
    await rows.filter({ hasText: '+15555550178' }).waitFor();
    expect(await rows.count()).toBe(1);
    await page.getByTestId('page-next').click();
    await rows.filter({ hasText: CALLER }).waitFor();
    expect(await rows.count()).toBe(1);
    expect(await page.getByTestId('page-next').isDisabled()).toBe(true);
    await page.getByTestId('page-prev').click();
    await rows.filter({ hasText: '+15555550178' }).waitFor();
    expect(await page.getByTestId('page-prev').isDisabled()).toBe(true);
  }, 45_000);

  it('charts the metrics of the calls', async () => {
    await page.getByTestId('nav-metrics').click();
    await page.getByTestId('metrics-totals').waitFor({ timeout: 15_000 });
    expect(
      Number(await page.getByTestId('tile-calls').locator('.tile-value').textContent()),
    ).toBeGreaterThanOrEqual(1);
    for (const chart of ['chart-calls', 'chart-concurrent', 'chart-setup', 'chart-handle']) {
      await page.getByTestId(chart).locator('canvas').waitFor();
    }
    await page.getByTestId('chart-outcomes').locator('svg rect').first().waitFor();
    await shot('12-metrics');
  }, 30_000);

  it('signs out back to the sign-in page, with no page error on the way', async () => {
    await page.getByTestId('sign-out').click();
    await page.getByTestId('sign-in-page').waitFor();
    const res = await page.request.get(`${gatewayUrl}/v1/session`);
    expect(res.status()).toBe(401);
    expect(pageErrors).toEqual([]);
  }, 30_000);
});
