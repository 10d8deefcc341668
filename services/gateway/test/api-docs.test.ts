/**
 * `/docs/json` is a valid OpenAPI 3 document that lists every `/v1` route the gateway registers,
 * each with a summary and, where it takes one, a request body schema; the webhooks stay out;
 * `/docs` serves Swagger UI. The app is assembled as main.ts does (docs first, then the route
 * plugins); nothing is called, so the clients are placeholders.
 */
import { Validator } from '@seriousme/openapi-schema-validator';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createNames } from '@app/contracts';
import { createPrismaClient, type PrismaClient } from '@app/db';
import { captureLogs } from '@app/platform/testing';

import { PrismaApiKeyStore } from '../src/adapters/api-keys.js';
import { PrismaSessionStore } from '../src/adapters/sessions.js';
import { PrismaUserStore } from '../src/adapters/users.js';
import { agentsApiRoutes } from '../src/routes/agents-api.js';
import { registerApiDocs } from '../src/routes/api-docs.js';
import { apiKeysApiRoutes } from '../src/routes/api-keys-api.js';
import { auditLogApiRoutes } from '../src/routes/audit-log-api.js';
import { callActionsApiRoutes } from '../src/routes/call-actions-api.js';
import { callRecordsApiRoutes } from '../src/routes/call-records-api.js';
import { callsApiRoutes } from '../src/routes/calls-api.js';
import { campaignsApiRoutes } from '../src/routes/campaigns-api.js';
import { consentsApiRoutes } from '../src/routes/consents-api.js';
import { dataSubjectsApiRoutes } from '../src/routes/data-subjects-api.js';
import { doNotCallApiRoutes } from '../src/routes/do-not-call-api.js';
import { httpToolsApiRoutes } from '../src/routes/http-tools-api.js';
import { humanAgentsApiRoutes } from '../src/routes/human-agents-api.js';
import { liveEventsRoutes } from '../src/routes/live-events.js';
import { openAIWebhookRoutes } from '../src/routes/openai-webhook.js';
import { phoneNumbersApiRoutes } from '../src/routes/phone-numbers-api.js';
import { sessionApiRoutes } from '../src/routes/session-api.js';
import { sessionAuthPlugin } from '../src/routes/session-auth.js';
import { statsApiRoutes } from '../src/routes/stats-api.js';
import { twilioOutboundRoutes } from '../src/routes/twilio-outbound.js';
import { twilioWebhookRoutes } from '../src/routes/twilio-webhooks.js';
import { usersApiRoutes } from '../src/routes/users-api.js';

interface OpenApiOperation {
  summary?: string;
  requestBody?: { content?: Record<string, { schema?: unknown }> };
  security?: unknown[];
}
interface OpenApiDocument {
  openapi: string;
  info: { version: string };
  paths: Record<string, Record<string, OpenApiOperation>>;
  components?: { securitySchemes?: Record<string, unknown> };
}

/** POSTs that act on a resource named in the path and read no body. */
const BODYLESS = /\/(start|pause|resume|cancel|rotate-secret|hangup)$/;

let app: FastifyInstance;
let prisma: PrismaClient;
const routes: Array<{ method: string; url: string }> = [];

beforeAll(async () => {
  // Never connected: registering routes queries nothing.
  prisma = createPrismaClient({ databaseUrl: 'postgresql://docs@127.0.0.1:5432/unused' });
  const apiKeys = new PrismaApiKeyStore(prisma);
  const names = createNames('docs');
  const unused = {} as never;
  app = Fastify({ loggerInstance: captureLogs().log as FastifyBaseLogger });
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) routes.push({ method, url: route.url });
  });
  await registerApiDocs(app, { version: '1.2.3' });
  const cookie = { secure: true, ttlSec: 3_600 };
  const sessions = new PrismaSessionStore(prisma, { ttlMs: 3_600_000, log: captureLogs().log });
  await app.register(sessionAuthPlugin, { sessions, cookie });
  await app.register(callsApiRoutes, { apiKeys, directory: unused, js: unused, names });
  await app.register(campaignsApiRoutes, {
    apiKeys,
    directory: unused,
    prisma,
    js: unused,
    names,
  });
  await app.register(sessionApiRoutes, { users: new PrismaUserStore(prisma), sessions, cookie });
  await app.register(usersApiRoutes, { apiKeys, prisma });
  await app.register(apiKeysApiRoutes, { apiKeys, prisma });
  await app.register(agentsApiRoutes, { apiKeys, prisma });
  await app.register(phoneNumbersApiRoutes, { apiKeys, prisma });
  await app.register(doNotCallApiRoutes, { apiKeys, prisma });
  await app.register(consentsApiRoutes, { apiKeys, prisma });
  await app.register(auditLogApiRoutes, { apiKeys, prisma });
  await app.register(dataSubjectsApiRoutes, { apiKeys, prisma });
  await app.register(callRecordsApiRoutes, { apiKeys, prisma });
  await app.register(statsApiRoutes, { apiKeys, prisma });
  await app.register(liveEventsRoutes, { apiKeys, prisma, nc: unused, js: unused, names });
  await app.register(callActionsApiRoutes, { apiKeys, prisma, nc: unused, names });
  await app.register(humanAgentsApiRoutes, { apiKeys, prisma });
  await app.register(httpToolsApiRoutes, { apiKeys, prisma });
  await app.register(openAIWebhookRoutes, {
    webhookSecret: undefined,
    openai: undefined,
    toleranceSec: 300,
    claims: unused,
    directory: unused,
    nc: unused,
    js: unused,
    names,
    offerDeadlineMs: 2_000,
  });
  const twilio = {
    publicBaseUrl: 'https://gateway.example.com',
    authToken: undefined,
    mediaUrl: 'wss://bridge.example.com/media',
    streamTokenSecret: 'docs-test-stream-token-secret-0001',
    streamTokenTtlSec: 60,
    js: unused,
    names,
    directory: unused,
  };
  await app.register(twilioWebhookRoutes, twilio);
  await app.register(twilioOutboundRoutes, twilio);
  await app.ready();
});

afterAll(async () => {
  await app?.close();
  await prisma?.$disconnect();
});

async function documentOf(): Promise<OpenApiDocument> {
  const res = await app.inject({ method: 'GET', url: '/docs/json' });
  expect(res.statusCode).toBe(200);
  return res.json<OpenApiDocument>();
}

/** Fastify's `/v1/calls/:id/hangup` as OpenAPI writes it: `/v1/calls/{id}/hangup`. */
const openApiPath = (url: string) => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

describe('API docs', () => {
  it('serves a valid OpenAPI 3 document with both security schemes', async () => {
    const doc = await documentOf();
    const result = await new Validator().validate(doc as never);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(doc.openapi).toMatch(/^3\.0\./);
    expect(doc.info.version).toBe('1.2.3');
    expect(doc.components?.securitySchemes).toMatchObject({
      bearerAuth: { type: 'http', scheme: 'bearer' },
      sessionCookie: { type: 'apiKey', in: 'cookie', name: '__Host-vp_session' },
    });
  });

  it('documents every registered /v1 route with a summary, a body schema where it takes one and its security', async () => {
    const doc = await documentOf();
    const v1 = routes.filter((r) => r.url.startsWith('/v1/') && r.method !== 'HEAD');
    // The plugins above register dozens of /v1 routes: an empty list would prove nothing.
    expect(v1.length).toBeGreaterThan(30);
    const problems: string[] = [];
    for (const { method, url } of v1) {
      const op = doc.paths[openApiPath(url)]?.[method.toLowerCase()];
      const name = `${method} ${url}`;
      if (!op) {
        problems.push(`${name}: not documented`);
        continue;
      }
      if (!op.summary) problems.push(`${name}: no summary`);
      // Explicit either way: the schemes that apply, or `[]` for a public route (sign-in).
      if (!Array.isArray(op.security)) problems.push(`${name}: no security`);
      const takesBody = ['POST', 'PUT', 'PATCH'].includes(method) && !BODYLESS.test(url);
      const bodySchema = Object.values(op.requestBody?.content ?? {})[0]?.schema;
      if (takesBody && !bodySchema) problems.push(`${name}: no request body schema`);
    }
    expect(problems).toEqual([]);
  });

  it('documents the live view and the operator actions', async () => {
    const doc = await documentOf();
    expect(doc.paths['/v1/live/events']?.get?.summary).toMatch(/server-sent events/);
    const transfer = doc.paths['/v1/calls/{id}/transfer']?.post;
    expect(transfer?.requestBody?.content?.['application/json']?.schema).toMatchObject({
      type: 'object',
      properties: { skill: { type: 'string' }, mode: { enum: ['cold', 'warm'] } },
      additionalProperties: false,
    });
    expect(doc.paths['/v1/calls/{id}/hangup']?.post?.summary).toBeTruthy();
  });

  it('leaves the webhooks and the docs themselves out', async () => {
    const doc = await documentOf();
    expect(routes.some((r) => r.url.startsWith('/twilio/'))).toBe(true);
    expect(routes.some((r) => r.url.startsWith('/openai/'))).toBe(true);
    const paths = Object.keys(doc.paths);
    expect(paths.filter((p) => !p.startsWith('/v1/'))).toEqual([]);
  });

  it('serves Swagger UI at /docs', async () => {
    let res = await app.inject({ method: 'GET', url: '/docs' });
    if (res.statusCode >= 300 && res.statusCode < 400) {
      const location = String(res.headers.location);
      res = await app.inject({ method: 'GET', url: new URL(location, 'http://x/docs').pathname });
    }
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.body).toContain('swagger-ui');
  });
});
