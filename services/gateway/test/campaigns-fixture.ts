/**
 * The campaigns API over real NATS and PostgreSQL, for one test file: its own namespace and
 * database, an agent with one number, and a key per role.
 */
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type LightMyRequestResponse,
} from 'fastify';

import { campaignEventSchema, type CampaignEvent } from '@app/contracts';
import { createPrismaClient, type PrismaClient } from '@app/db';
import { createTestDatabase, type TestDatabase } from '@app/db/testing';
import { PrismaDialingDirectory } from '@app/dialing';
import { captureLogs, natsTestNamespace, type NatsTestNamespace } from '@app/platform/testing';

import { createApiKey, PrismaApiKeyStore } from '../src/adapters/api-keys.js';
import { campaignsApiRoutes, type CampaignsApiOptions } from '../src/routes/campaigns-api.js';

export const OURS = '+15555550100';

export interface CampaignsFixture {
  ns: NatsTestNamespace;
  db: TestDatabase;
  prisma: PrismaClient;
  app: FastifyInstance;
  lines: Record<string, unknown>[];
  keys: { admin: string; operator: string; viewer: string };
  agentId: string;
  /** Sends a request with the operator's key unless `key` says otherwise (null: none). */
  call(
    method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
    url: string,
    body?: unknown,
    opts?: { key?: string | null; contentType?: string },
  ): Promise<LightMyRequestResponse>;
  /** Creates a campaign through the API and returns its id. */
  createCampaign(overrides?: Record<string, unknown>): Promise<string>;
  /** The campaign events stored for a campaign, oldest first. */
  events(campaignId: string): Promise<CampaignEvent[]>;
  close(): Promise<void>;
}

export async function campaignsFixture(
  overrides: Partial<CampaignsApiOptions> = {},
): Promise<CampaignsFixture> {
  const ns = await natsTestNamespace();
  const db = await createTestDatabase();
  const prisma = createPrismaClient({ databaseUrl: db.databaseUrl, poolMax: 4 });
  const agentId = (await prisma.agent.create({ data: { name: 'campaigns', instructions: 'Hi.' } }))
    .id;
  await prisma.phoneNumber.create({ data: { e164: OURS, agentId } });
  const keys = { admin: '', operator: '', viewer: '' };
  for (const role of ['admin', 'operator', 'viewer'] as const) {
    keys[role] = (await createApiKey(prisma, { name: `test-${role}`, role })).key;
  }
  const apiKeys = new PrismaApiKeyStore(prisma);
  const logs = captureLogs();
  const app = Fastify({ loggerInstance: logs.log as FastifyBaseLogger });
  await app.register(campaignsApiRoutes, {
    apiKeys,
    directory: new PrismaDialingDirectory(prisma),
    prisma,
    js: jetstream(ns.nc),
    names: ns.names,
    ...overrides,
  });
  await app.ready();
  const jsm = await jetstreamManager(ns.nc);

  const call: CampaignsFixture['call'] = (method, url, body, opts = {}) => {
    const key = opts.key === undefined ? keys.operator : opts.key;
    const headers: Record<string, string> = {};
    if (key !== null) headers.authorization = `Bearer ${key}`;
    if (body !== undefined) headers['content-type'] = opts.contentType ?? 'application/json';
    return app.inject({
      method,
      url,
      headers,
      ...(body === undefined
        ? {}
        : { payload: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
  };

  return {
    ns,
    db,
    prisma,
    app,
    lines: logs.lines,
    keys,
    agentId,
    call,
    async createCampaign(extra = {}) {
      const res = await call('POST', '/v1/campaigns', { name: 'Spring', agentId, ...extra });
      if (res.statusCode !== 201) throw new Error(`campaign not created: ${res.body}`);
      return res.json<{ id: string }>().id;
    },
    async events(campaignId) {
      const stream = ns.names.streams.campaigns.name;
      const info = await jsm.streams.info(stream);
      const out: CampaignEvent[] = [];
      for (let seq = info.state.first_seq; seq <= info.state.last_seq && seq > 0; seq++) {
        const msg = await jsm.streams.getMessage(stream, { seq }).catch(() => null);
        if (!msg) continue;
        const event = campaignEventSchema.parse(msg.json());
        if (event.data.campaignId === campaignId) out.push(event);
      }
      return out;
    },
    async close() {
      await app.close();
      await apiKeys.settled();
      await ns.close();
      await prisma.$disconnect();
      await db.drop();
    },
  };
}
