// Public HTTP edge: Twilio and OpenAI webhooks, REST API, dashboard, call-record projector.
// Composition root: wiring only (STYLE.md 6.2).
import { jetstream } from '@nats-io/jetstream';
import OpenAI from 'openai';

import { attachDatabase } from '@app/db';
import { PrismaDialingDirectory } from '@app/dialing';
import { readPackageVersion, runService } from '@app/platform';

import { PrismaApiKeyStore } from './adapters/api-keys.js';
import { PrismaCallDirectory } from './adapters/call-directory.js';
import { PrismaCallRecordStore } from './adapters/call-record-store.js';
import { KvWebhookClaims } from './adapters/webhook-claims.js';
import { loadConfig } from './config.js';
import { startCallRecordProjector } from './handlers/call-record-projector.js';
import { callsApiRoutes } from './routes/calls-api.js';
import { campaignsApiRoutes } from './routes/campaigns-api.js';
import { httpToolsApiRoutes } from './routes/http-tools-api.js';
import { humanAgentsApiRoutes } from './routes/human-agents-api.js';
import { openAIWebhookRoutes } from './routes/openai-webhook.js';
import { twilioOutboundRoutes } from './routes/twilio-outbound.js';
import { twilioWebhookRoutes } from './routes/twilio-webhooks.js';

await runService({
  name: 'gateway',
  version: readPackageVersion(import.meta.url),
  loadConfig: () => loadConfig(),
  setup: async (ctx) => {
    const prisma = attachDatabase(ctx);
    const projector = await startCallRecordProjector({
      nc: ctx.nc,
      names: ctx.names,
      store: new PrismaCallRecordStore(prisma),
      log: ctx.log.child({ component: 'call-record-projector' }),
    });
    // Stop pulling before the database pool closes; the event in hand finishes first.
    ctx.onDrain('call-record-projector', () => projector.stop());
    // [docs] @fastify/swagger must be registered before any route, to see them all.
    // [/docs]
    const directory = new PrismaCallDirectory(prisma);
    const apiKeys = new PrismaApiKeyStore(prisma, ctx.log.child({ component: 'api-keys' }));
    // The background last_used_at writes finish when HTTP closes, before the database does.
    ctx.app.addHook('onClose', () => apiKeys.settled());
    await ctx.app.register(callsApiRoutes, {
      apiKeys,
      directory: new PrismaDialingDirectory(prisma),
      js: jetstream(ctx.nc),
      names: ctx.names,
      maxScheduleAheadMs: ctx.config.CALL_MAX_SCHEDULE_AHEAD_DAYS * 24 * 60 * 60 * 1000,
    });
    await ctx.app.register(campaignsApiRoutes, {
      apiKeys,
      directory: new PrismaDialingDirectory(prisma),
      prisma,
      js: jetstream(ctx.nc),
      names: ctx.names,
    });
    // [auth] sign-in sessions, users, API key management
    // [/auth]
    // [admin] agents, phone numbers, do-not-call
    // [/admin]
    // [reports] call list, detail, export, stats
    // [/reports]
    // [live] live events (SSE) and operator actions
    // [/live]
    // [dashboard] the built dashboard's static files
    // [/dashboard]
    await ctx.app.register(humanAgentsApiRoutes, { apiKeys, prisma });
    await ctx.app.register(httpToolsApiRoutes, { apiKeys, prisma });
    const { config } = ctx;
    await ctx.app.register(openAIWebhookRoutes, {
      webhookSecret: config.OPENAI_WEBHOOK_SECRET,
      // Values from config.ts only: `null` stops the SDK's own fallback to OPENAI_* variables.
      // The webhook answer may wait for a reject: a short timeout and one retry.
      openai: config.OPENAI_API_KEY
        ? new OpenAI({
            apiKey: config.OPENAI_API_KEY,
            baseURL: config.OPENAI_BASE_URL ?? null,
            organization: null,
            project: null,
            webhookSecret: config.OPENAI_WEBHOOK_SECRET ?? null,
            timeout: 5_000,
            maxRetries: 1,
          })
        : undefined,
      toleranceSec: config.OPENAI_WEBHOOK_TOLERANCE_SEC,
      claims: await KvWebhookClaims.open(ctx.nc, ctx.names, {
        replicas: config.NATS_STREAM_REPLICAS,
      }),
      directory,
      nc: ctx.nc,
      js: jetstream(ctx.nc),
      names: ctx.names,
      offerDeadlineMs: config.SIP_OFFER_DEADLINE_MS,
    });
    await ctx.app.register(twilioWebhookRoutes, {
      publicBaseUrl: ctx.config.PUBLIC_BASE_URL,
      authToken: ctx.config.TWILIO_AUTH_TOKEN,
      mediaUrl: ctx.config.CALL_BRIDGE_MEDIA_URL,
      streamTokenSecret: ctx.config.STREAM_TOKEN_SECRET,
      streamTokenTtlSec: ctx.config.STREAM_TOKEN_TTL_SEC,
      js: jetstream(ctx.nc),
      names: ctx.names,
      directory,
    });
    await ctx.app.register(twilioOutboundRoutes, {
      publicBaseUrl: config.PUBLIC_BASE_URL,
      authToken: config.TWILIO_AUTH_TOKEN,
      mediaUrl: config.CALL_BRIDGE_MEDIA_URL,
      streamTokenSecret: config.STREAM_TOKEN_SECRET,
      streamTokenTtlSec: config.STREAM_TOKEN_TTL_SEC,
      js: jetstream(ctx.nc),
      names: ctx.names,
      directory,
    });
  },
});
