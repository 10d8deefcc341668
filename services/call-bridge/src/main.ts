// Owns live calls: Twilio media WebSocket <-> OpenAI Realtime WebSocket, SIP sideband control.
// Composition root: wiring only (STYLE.md 6.2).
import { attachDatabase } from '@app/db';
import { readPackageVersion, runService } from '@app/platform';

import { loadConfig } from './config.js';
import { LiveCalls } from './domain/live-calls.js';

await runService({
  name: 'call-bridge',
  version: readPackageVersion(import.meta.url),
  loadConfig: () => loadConfig(),
  setup: async (ctx) => {
    attachDatabase(ctx);
    const calls = new LiveCalls(ctx.config.MAX_CALLS);
    ctx.setCapacity(() => ({ used: calls.size, limit: calls.limit }));
    ctx.onDrain('live-calls', async () => {
      const result = await calls.drain(ctx.config.DRAIN_TIMEOUT_MS);
      ctx.log.info(result, 'calls drained');
    });
  },
});
