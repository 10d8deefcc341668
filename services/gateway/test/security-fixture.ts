/**
 * The gateway as main.ts wires it (the session plugin first, then the REST API, the dashboard's
 * static files and the webhooks), on a fresh PostgreSQL database and its own NATS namespace, for
 * the tests that try to get in (security-*.test.ts). An API key and a user per role, and a
 * revoked key. The dashboard is a small built stand-in in a temporary folder, next to a file
 * outside it that must never be served.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { jetstream } from '@nats-io/jetstream';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type InjectOptions,
  type LightMyRequestResponse,
} from 'fastify';
import OpenAI from 'openai';

import { createPrismaClient, type PrismaClient } from '@app/db';
import { createTestDatabase, type TestDatabase } from '@app/db/testing';
import { PrismaDialingDirectory } from '@app/dialing';
import { captureLogs, natsTestNamespace, type NatsTestNamespace } from '@app/platform/testing';

import { createApiKey, PrismaApiKeyStore } from '../src/adapters/api-keys.js';
import { PrismaCallDirectory } from '../src/adapters/call-directory.js';
import { PrismaSessionStore } from '../src/adapters/sessions.js';
import { TwilioReplayGuard } from '../src/adapters/twilio-replay.js';
import { createUser, PrismaUserStore } from '../src/adapters/users.js';
import { KvWebhookClaims } from '../src/adapters/webhook-claims.js';
import { agentsApiRoutes } from '../src/routes/agents-api.js';
import { apiKeysApiRoutes } from '../src/routes/api-keys-api.js';
import { callRecordsApiRoutes } from '../src/routes/call-records-api.js';
import { callsApiRoutes } from '../src/routes/calls-api.js';
import { campaignsApiRoutes } from '../src/routes/campaigns-api.js';
import { dashboardStaticRoutes } from '../src/routes/dashboard-static.js';
import { doNotCallApiRoutes } from '../src/routes/do-not-call-api.js';
import { httpToolsApiRoutes } from '../src/routes/http-tools-api.js';
import { humanAgentsApiRoutes } from '../src/routes/human-agents-api.js';
import { openAIWebhookRoutes } from '../src/routes/openai-webhook.js';
import { phoneNumbersApiRoutes } from '../src/routes/phone-numbers-api.js';
import { rejectNulTextPlugin } from '../src/routes/reject-nul-text.js';
import { sessionApiRoutes } from '../src/routes/session-api.js';
import { sessionAuthPlugin, sessionCookieName } from '../src/routes/session-auth.js';
import { statsApiRoutes } from '../src/routes/stats-api.js';
import { twilioOutboundRoutes } from '../src/routes/twilio-outbound.js';
import { twilioWebhookRoutes } from '../src/routes/twilio-webhooks.js';
import { usersApiRoutes } from '../src/routes/users-api.js';

export type Role = 'admin' | 'operator' | 'viewer';
export const ROLES: readonly Role[] = ['admin', 'operator', 'viewer'];

export const PUBLIC_BASE_URL = 'https://voice.example.com';
export const TWILIO_AUTH_TOKEN = 'security-test-twilio-auth-token-000';
export const OPENAI_WEBHOOK_SECRET = `whsec_${Buffer.from('security-test-openai-secret').toString('base64')}`;
export const PASSWORD = 'correct horse battery staple';
export const OUR_NUMBER = '+15555550100';
/** What the file outside the dashboard folder holds: no response may ever contain it. */
export const SECRET_FILE_TEXT = 'TOP-SECRET-OUTSIDE-THE-DASHBOARD';

export interface SecurityFixture {
  db: TestDatabase;
  prisma: PrismaClient;
  ns: NatsTestNamespace;
  app: FastifyInstance;
  keys: Record<Role, string> & { revoked: string };
  /** A signed-in user per role: the cookie header and the session's CSRF token. */
  browsers: Record<Role, { cookie: string; csrf: string }>;
  cookieName: string;
  agentId: string;
  /** The dashboard stand-in folder, inside `root` (which holds the secret file). */
  dashboardDir: string;
  /** A request with a role's API key (`null`: no credentials), JSON when there is a body. */
  call: (
    method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE',
    url: string,
    body?: unknown,
    as?: Role | null,
  ) => Promise<LightMyRequestResponse>;
  inject: (opts: InjectOptions) => Promise<LightMyRequestResponse>;
  close: () => Promise<void>;
}

export async function securityFixture(): Promise<SecurityFixture> {
  const db = await createTestDatabase();
  const prisma = createPrismaClient({ databaseUrl: db.databaseUrl, poolMax: 4 });
  const ns = await natsTestNamespace();
  const { nc, names } = ns;

  const root = await mkdtemp(join(tmpdir(), 'gateway-security-'));
  const dashboardDir = join(root, 'dashboard');
  await mkdir(join(dashboardDir, 'assets'), { recursive: true });
  await writeFile(join(dashboardDir, 'index.html'), '<!doctype html><div id="app"></div>');
  await writeFile(join(dashboardDir, 'assets', 'app-1234.js'), 'console.log("dashboard");');
  await writeFile(join(root, 'secret.txt'), SECRET_FILE_TEXT);
  await writeFile(join(root, 'dashboard-secret.txt'), SECRET_FILE_TEXT);

  const keys = { admin: '', operator: '', viewer: '', revoked: '' };
  for (const role of ROLES) {
    keys[role] = (await createApiKey(prisma, { name: `sec-${role}`, role })).key;
  }
  keys.revoked = (await createApiKey(prisma, { name: 'sec-revoked', role: 'admin' })).key;
  for (const role of ROLES) {
    await createUser(prisma, {
      email: `${role}@example.com`,
      name: `The ${role}`,
      role,
      password: PASSWORD,
    });
  }
  const agent = await prisma.agent.create({ data: { name: 'desk', instructions: 'Be brief.' } });
  await prisma.phoneNumber.create({ data: { e164: OUR_NUMBER, agentId: agent.id } });

  const { log } = captureLogs();
  const app = Fastify({ loggerInstance: log as FastifyBaseLogger });
  const cookie = { secure: true, ttlSec: 3_600 };
  const sessions = new PrismaSessionStore(prisma, { ttlMs: 3_600_000 });
  const apiKeys = new PrismaApiKeyStore(prisma);
  const js = jetstream(nc);
  const directory = new PrismaCallDirectory(prisma);
  await app.register(sessionAuthPlugin, { sessions, cookie, publicBaseUrl: PUBLIC_BASE_URL });
  await app.register(rejectNulTextPlugin);
  await app.register(callsApiRoutes, {
    apiKeys,
    directory: new PrismaDialingDirectory(prisma),
    js,
    names,
  });
  await app.register(campaignsApiRoutes, {
    apiKeys,
    directory: new PrismaDialingDirectory(prisma),
    prisma,
    js,
    names,
  });
  await app.register(sessionApiRoutes, { users: new PrismaUserStore(prisma), sessions, cookie });
  for (const plugin of [
    usersApiRoutes,
    apiKeysApiRoutes,
    agentsApiRoutes,
    phoneNumbersApiRoutes,
    doNotCallApiRoutes,
    callRecordsApiRoutes,
    statsApiRoutes,
    humanAgentsApiRoutes,
    httpToolsApiRoutes,
  ]) {
    await app.register(plugin, { apiKeys, prisma });
  }
  await app.register(dashboardStaticRoutes, { dir: dashboardDir });
  await app.register(openAIWebhookRoutes, {
    webhookSecret: OPENAI_WEBHOOK_SECRET,
    // Never reached by these tests (no call is offered): a port nothing listens on.
    openai: new OpenAI({ apiKey: 'sk-test', baseURL: 'http://127.0.0.1:9/v1', maxRetries: 0 }),
    toleranceSec: 300,
    claims: await KvWebhookClaims.open(nc, names),
    directory,
    nc,
    js,
    names,
    offerDeadlineMs: 500,
  });
  const twilio = {
    publicBaseUrl: PUBLIC_BASE_URL,
    authToken: TWILIO_AUTH_TOKEN,
    mediaUrl: 'wss://bridge.example.com/media',
    streamTokenSecret: 'security-test-stream-token-secret-000',
    streamTokenTtlSec: 60,
    js,
    names,
    directory,
  };
  await app.register(twilioWebhookRoutes, {
    ...twilio,
    lookupWaitMs: 300,
    replay: await TwilioReplayGuard.open(nc, names),
  });
  await app.register(twilioOutboundRoutes, twilio);
  await app.ready();

  const cookieName = sessionCookieName(true);
  const browsers = {} as SecurityFixture['browsers'];
  for (const role of ROLES) {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/session',
      payload: { email: `${role}@example.com`, password: PASSWORD },
    });
    const set = res.cookies.find((c) => c.name === cookieName);
    if (res.statusCode !== 200 || !set) throw new Error(`sign-in failed: ${res.body}`);
    browsers[role] = {
      cookie: `${cookieName}=${set.value}`,
      csrf: res.json<{ csrfToken: string }>().csrfToken,
    };
  }
  // Revoked through the API, as an admin would.
  const listed = await app.inject({
    method: 'GET',
    url: '/v1/api-keys',
    headers: { authorization: `Bearer ${keys.admin}` },
  });
  const revokedId = listed
    .json<{ items: Array<{ id: string; name: string }> }>()
    .items.find((k) => k.name === 'sec-revoked')?.id;
  const revoke = await app.inject({
    method: 'DELETE',
    url: `/v1/api-keys/${revokedId}`,
    headers: { authorization: `Bearer ${keys.admin}` },
  });
  if (revoke.statusCode >= 300) throw new Error(`revoking failed: ${revoke.body}`);

  return {
    db,
    prisma,
    ns,
    app,
    keys,
    browsers,
    cookieName,
    agentId: agent.id,
    dashboardDir,
    call: (method, url, body, as = 'admin') =>
      app.inject({
        method,
        url,
        headers: {
          ...(as !== null ? { authorization: `Bearer ${keys[as]}` } : {}),
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
      }),
    inject: (opts) => app.inject(opts),
    close: async () => {
      await app.close();
      await sessions.settled();
      await apiKeys.settled();
      await ns.close();
      await prisma.$disconnect();
      await db.drop();
      await rm(root, { recursive: true, force: true });
    },
  };
}
