// Human-agent queues, notifications, cold and warm transfers.
// Composition root: wiring only (STYLE.md 6.2).
import { attachDatabase } from '@app/db';
import { readPackageVersion, runService } from '@app/platform';

import { loadConfig } from './config.js';

await runService({
  name: 'handoff',
  version: readPackageVersion(import.meta.url),
  loadConfig: () => loadConfig(),
  setup: async (ctx) => {
    attachDatabase(ctx);
  },
});
