// Public HTTP edge: Twilio and OpenAI webhooks, REST API, dashboard, call-record projector.
// Composition root: wiring only (STYLE.md 6.2).
import { attachDatabase } from '@app/db';
import { readPackageVersion, runService } from '@app/platform';

import { PrismaCallRecordStore } from './adapters/call-record-store.js';
import { loadConfig } from './config.js';
import { startCallRecordProjector } from './handlers/call-record-projector.js';

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
  },
});
