// Human-agent queues, notifications, cold and warm transfers.
// Composition root: wiring only (STYLE.md 6.2).
import { attachDatabase } from '@app/db';
import { readPackageVersion, registerConsumerLagMetrics, runService } from '@app/platform';

import { twilioVoice } from './adapters/twilio-voice.js';
import { loadConfig } from './config.js';
import { startHandoff } from './handoff.js';
import { createHandoffMetrics } from './metrics.js';

await runService({
  name: 'handoff',
  version: readPackageVersion(import.meta.url),
  loadConfig: () => loadConfig(),
  setup: async (ctx) => {
    const prisma = attachDatabase(ctx);
    registerConsumerLagMetrics(ctx.registry, ctx.nc, [
      { stream: ctx.names.streams.calls.name, consumer: ctx.names.consumers.handoffOnCallEnded },
    ]);
    const version = readPackageVersion(import.meta.url);
    const c = ctx.config;
    const { TWILIO_ACCOUNT_SID: accountSid, TWILIO_AUTH_TOKEN: authToken } = c;
    if (!accountSid || !authToken) {
      ctx.log.warn('TWILIO_ACCOUNT_SID is not set: handoffs of Media Streams calls are refused');
    }
    const handoff = await startHandoff({
      nc: ctx.nc,
      names: ctx.names,
      prisma,
      twilio:
        accountSid && authToken
          ? twilioVoice({
              accountSid,
              authToken,
              apiBaseUrl: c.TWILIO_API_BASE_URL,
              timeoutMs: c.TWILIO_REQUEST_TIMEOUT_MS,
            })
          : null,
      webhook:
        c.HANDOFF_WEBHOOK_URL && c.HANDOFF_WEBHOOK_SECRET
          ? {
              url: c.HANDOFF_WEBHOOK_URL,
              secret: c.HANDOFF_WEBHOOK_SECRET,
              timeoutMs: c.HANDOFF_WEBHOOK_TIMEOUT_MS,
            }
          : null,
      settings: {
        transferDelayMs: c.HANDOFF_TRANSFER_DELAY_MS,
        ringTimeoutSec: c.HANDOFF_RING_TIMEOUT_SEC,
        joinTimeoutMs: c.HANDOFF_JOIN_TIMEOUT_MS,
        pollIntervalMs: c.HANDOFF_POLL_INTERVAL_MS,
        controlTimeoutMs: c.CALL_CONTROL_TIMEOUT_MS,
      },
      version,
      metrics: createHandoffMetrics(ctx.registry),
      log: ctx.log,
    });
    ctx.onDrain('handoff', () => handoff.stop());
  },
});
