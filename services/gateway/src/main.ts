// Public HTTP edge: Twilio and OpenAI webhooks, REST API, dashboard, call-record projector.
// Composition root: wiring only (STYLE.md 6.2).
import { jetstream } from '@nats-io/jetstream';
import OpenAI from 'openai';

import { attachDatabase } from '@app/db';
import { readPackageVersion, runService } from '@app/platform';

import { PrismaCallDirectory } from './adapters/call-directory.js';
import { PrismaCallRecordStore } from './adapters/call-record-store.js';
import { KvWebhookClaims } from './adapters/webhook-claims.js';
import { loadConfig } from './config.js';
import { startCallRecordProjector } from './handlers/call-record-projector.js';
import { openAIWebhookRoutes } from './routes/openai-webhook.js';
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
    const directory = new PrismaCallDirectory(prisma);
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
  },
});
