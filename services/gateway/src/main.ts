// Public HTTP edge: Twilio and OpenAI webhooks, REST API, dashboard, call-record projector.
// Composition root: wiring only (STYLE.md 6.2).
import { jetstream } from '@nats-io/jetstream';

import { attachDatabase } from '@app/db';
import { readPackageVersion, runService } from '@app/platform';

import { PrismaCallDirectory } from './adapters/call-directory.js';
import { PrismaCallRecordStore } from './adapters/call-record-store.js';
import { loadConfig } from './config.js';
import { startCallRecordProjector } from './handlers/call-record-projector.js';
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
    await ctx.app.register(twilioWebhookRoutes, {
      publicBaseUrl: ctx.config.PUBLIC_BASE_URL,
      authToken: ctx.config.TWILIO_AUTH_TOKEN,
      mediaUrl: ctx.config.CALL_BRIDGE_MEDIA_URL,
      streamTokenSecret: ctx.config.STREAM_TOKEN_SECRET,
      streamTokenTtlSec: ctx.config.STREAM_TOKEN_TTL_SEC,
      js: jetstream(ctx.nc),
      names: ctx.names,
      directory: new PrismaCallDirectory(prisma),
    });
  },
});
