// Executes the agent's function calls (built-in and HTTP tools).
// Composition root: wiring only (STYLE.md 6.2).
import { attachDatabase } from '@app/db';
import { readPackageVersion, runService } from '@app/platform';

import { loadConfig } from './config.js';
import { startToolRunner } from './tool-runner.js';

await runService({
  name: 'tool-runner',
  version: readPackageVersion(import.meta.url),
  loadConfig: () => loadConfig(),
  setup: async (ctx) => {
    const prisma = attachDatabase(ctx);
    const c = ctx.config;
    const runner = await startToolRunner({
      nc: ctx.nc,
      names: ctx.names,
      prisma,
      registry: ctx.registry,
      log: ctx.log,
      version: readPackageVersion(import.meta.url),
      settings: {
        maxOutputBytes: c.TOOL_MAX_OUTPUT_BYTES,
        maxTimeoutMs: c.TOOL_MAX_TIMEOUT_MS,
        perCall: { max: c.TOOL_RATE_LIMIT_PER_CALL_PER_MIN, windowMs: 60_000 },
        perTool: { max: c.TOOL_RATE_LIMIT_PER_TOOL_PER_SEC, windowMs: 1_000 },
        transferMode: c.TOOL_TRANSFER_MODE,
        handoffTimeoutMs: c.HANDOFF_REQUEST_TIMEOUT_MS,
        httpDestinations: {
          allowPrivateNetworks: c.HTTP_TOOL_ALLOW_PRIVATE_NETWORKS,
          allowedHosts: c.HTTP_TOOL_ALLOWED_HOSTS,
        },
      },
    });
    // Stop taking invocations (running ones finish) while NATS and the database are still up.
    ctx.onDrain('tool-runner', () => runner.stop());
  },
});
