// Public HTTP edge: Twilio and OpenAI webhooks, REST API, dashboard, call-record projector.
// Composition root: wiring only (STYLE.md 6.2).
import { attachDatabase } from '@app/db';
import { readPackageVersion, runService } from '@app/platform';

import { loadConfig } from './config.js';

await runService({
  name: 'gateway',
  version: readPackageVersion(import.meta.url),
  loadConfig: () => loadConfig(),
  setup: async (ctx) => {
    attachDatabase(ctx);
  },
});
