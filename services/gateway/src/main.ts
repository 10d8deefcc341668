// Public HTTP edge: Twilio and OpenAI webhooks, REST API, dashboard, call-record projector.
// Composition root: wiring only (STYLE.md 6.2).
import { jetstream } from '@nats-io/jetstream';
import OpenAI from 'openai';

import { attachDatabase } from '@app/db';
import { PrismaDialingDirectory } from '@app/dialing';
import { readPackageVersion, runService } from '@app/platform';

import { PrismaApiKeyStore } from './adapters/api-keys.js';
import { PrismaCallDirectory } from './adapters/call-directory.js';
import { JetStreamCallEventPurge } from './adapters/call-event-purge.js'; // [privacy]
import { PrismaCallRecordStore } from './adapters/call-record-store.js';
import { KvRateCounter } from './adapters/kv-rate-limit-store.js'; // [edge]
import { PrismaSessionStore } from './adapters/sessions.js'; // [auth]

import { TwilioReplayGuard } from './adapters/twilio-replay.js';
import { PrismaUserStore } from './adapters/users.js'; // [auth]

import { KvWebhookClaims } from './adapters/webhook-claims.js';
import { loadConfig, sessionCookieSecure } from './config.js'; // [auth]
import { startCallRecordProjector } from './handlers/call-record-projector.js';
import { createGatewayMetrics } from './metrics.js'; // [observability]
import { agentsApiRoutes } from './routes/agents-api.js'; // [admin]
import { registerApiDocs } from './routes/api-docs.js'; // [docs]
import { apiKeysApiRoutes } from './routes/api-keys-api.js'; // [auth]
import { auditLogApiRoutes } from './routes/audit-log-api.js'; // [privacy]
import { callActionsApiRoutes } from './routes/call-actions-api.js'; // [live]
import { callRecordsApiRoutes } from './routes/call-records-api.js'; // [reports]
import { callsApiRoutes } from './routes/calls-api.js';
import { campaignsApiRoutes } from './routes/campaigns-api.js';
import { consentsApiRoutes } from './routes/consents-api.js'; // [privacy]
import { dashboardStaticRoutes } from './routes/dashboard-static.js'; // [dashboard]
import { dataSubjectsApiRoutes } from './routes/data-subjects-api.js'; // [privacy]
import { doNotCallApiRoutes } from './routes/do-not-call-api.js'; // [admin]
import { edgeSecurityPlugin } from './routes/edge-security.js'; // [edge]
import { httpToolsApiRoutes } from './routes/http-tools-api.js';
import { humanAgentsApiRoutes } from './routes/human-agents-api.js';
import { liveEventsRoutes } from './routes/live-events.js'; // [live]
import { openAIWebhookRoutes } from './routes/openai-webhook.js';
import { phoneNumbersApiRoutes } from './routes/phone-numbers-api.js'; // [admin]

import { rejectNulTextPlugin } from './routes/reject-nul-text.js';
import { sessionApiRoutes } from './routes/session-api.js'; // [auth]

import { sessionAuthPlugin } from './routes/session-auth.js'; // [auth]
import { statsApiRoutes } from './routes/stats-api.js'; // [reports]
import { twilioOutboundRoutes } from './routes/twilio-outbound.js';
import { twilioWebhookRoutes } from './routes/twilio-webhooks.js';
import { usersApiRoutes } from './routes/users-api.js'; // [auth]

await runService({
  name: 'gateway',
  version: readPackageVersion(import.meta.url),
  loadConfig: () => loadConfig(),
  setup: async (ctx) => {
    const prisma = attachDatabase(ctx);
    const webhookMetrics = createGatewayMetrics(ctx.registry, ctx.nc, ctx.names); // [observability]
    const projector = await startCallRecordProjector({
      nc: ctx.nc,
      names: ctx.names,
      store: new PrismaCallRecordStore(prisma),
      log: ctx.log.child({ component: 'call-record-projector' }),
    });
    // Stop pulling before the database pool closes; the event in hand finishes first.
    ctx.onDrain('call-record-projector', () => projector.stop());
    // [edge] rate limits, body limits, security headers, CORS: before every route, /docs too.
    await ctx.app.register(edgeSecurityPlugin, {
      counter: await KvRateCounter.open(ctx.nc, ctx.names, {
        replicas: ctx.config.NATS_STREAM_REPLICAS,
      }),
      limits: {
        'sign-in': ctx.config.RATE_LIMIT_SIGN_IN_PER_MIN,
        read: ctx.config.RATE_LIMIT_READ_PER_MIN,
        write: ctx.config.RATE_LIMIT_WRITE_PER_MIN,
        webhook: ctx.config.RATE_LIMIT_WEBHOOK_PER_MIN,
      },
      trustedProxyHops: ctx.config.TRUSTED_PROXY_HOPS,
      bodyLimitBytes: ctx.config.BODY_LIMIT_BYTES,
      corsOrigins: ctx.config.CORS_ORIGINS,
    });
    // [/edge]
    // [docs] @fastify/swagger must be registered before any route, to see them all.
    await registerApiDocs(ctx.app, {
      version: readPackageVersion(import.meta.url),
      secureCookie: sessionCookieSecure(ctx.config),
    });
    // [/docs]
    // [auth-plugin] the session cookie, before every route plugin: a root hook runs after the
    // onRequest hooks of plugins registered earlier, so their auth would not see the session.
    const sessionCookie = {
      secure: sessionCookieSecure(ctx.config),
      ttlSec: ctx.config.SESSION_TTL_HOURS * 60 * 60,
    };
    const sessions = new PrismaSessionStore(prisma, {
      ttlMs: sessionCookie.ttlSec * 1000,
      log: ctx.log.child({ component: 'sessions' }),
    });
    ctx.app.addHook('onClose', () => sessions.settled());
    await ctx.app.register(sessionAuthPlugin, {
      sessions,
      cookie: sessionCookie,
      publicBaseUrl: ctx.config.PUBLIC_BASE_URL,
    });
    // [/auth-plugin]
    // Root-level too: a NUL in any body, query or path is a 400 here, not a 500 from PostgreSQL.
    await ctx.app.register(rejectNulTextPlugin);
    const directoryLog = ctx.log.child({ component: 'call-directory' });
    const directory = new PrismaCallDirectory(prisma, {
      onStaleAgent: (e164, err, ageMs) =>
        directoryLog.warn(
          { err, pii: { e164 }, ageMs: Math.round(ageMs) },
          'database unavailable: the number answered by its last known agent',
        ),
    });
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
    await ctx.app.register(sessionApiRoutes, {
      users: new PrismaUserStore(prisma),
      sessions,
      cookie: sessionCookie,
    });
    await ctx.app.register(usersApiRoutes, { apiKeys, prisma });
    await ctx.app.register(apiKeysApiRoutes, { apiKeys, prisma });
    // [/auth]
    // [admin] agents, phone numbers, do-not-call
    await ctx.app.register(agentsApiRoutes, { apiKeys, prisma });
    await ctx.app.register(phoneNumbersApiRoutes, { apiKeys, prisma });
    await ctx.app.register(doNotCallApiRoutes, { apiKeys, prisma });
    await ctx.app.register(consentsApiRoutes, { apiKeys, prisma }); // [privacy]
    // [/admin]
    // [privacy] read-only audit trail; a caller's data export and erasure (admins only)
    await ctx.app.register(auditLogApiRoutes, { apiKeys, prisma });
    await ctx.app.register(dataSubjectsApiRoutes, {
      apiKeys,
      prisma,
      callEventPurge: new JetStreamCallEventPurge(ctx.nc, ctx.names),
    });
    // [/privacy]
    // [reports] call list, detail, export, stats
    await ctx.app.register(callRecordsApiRoutes, { apiKeys, prisma });
    await ctx.app.register(statsApiRoutes, { apiKeys, prisma });
    // [/reports]
    // [live] live events (SSE) and operator actions
    await ctx.app.register(liveEventsRoutes, {
      apiKeys,
      prisma,
      nc: ctx.nc,
      js: jetstream(ctx.nc),
      names: ctx.names,
    });
    await ctx.app.register(callActionsApiRoutes, { apiKeys, prisma, nc: ctx.nc, names: ctx.names });
    // [/live]
    // [dashboard] the built dashboard's static files
    await ctx.app.register(dashboardStaticRoutes, { dir: ctx.config.DASHBOARD_DIR });
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
      metrics: webhookMetrics, // [observability]
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
      metrics: webhookMetrics, // [observability]
      replay: await TwilioReplayGuard.open(ctx.nc, ctx.names, {
        replicas: config.NATS_STREAM_REPLICAS,
      }),
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
      metrics: webhookMetrics, // [observability]
    });
  },
});
