// Outbound dialing: call requests, campaigns, pacing, calling windows, retries.
// Composition root: wiring only (STYLE.md 6.2).
import { attachDatabase } from '@app/db';
import { readPackageVersion, registerConsumerLagMetrics, runService } from '@app/platform';

import { twilioDialer } from './adapters/twilio-dialer.js';
import { loadConfig } from './config.js';
import { startScheduler } from './scheduler.js';

await runService({
  name: 'campaign-scheduler',
  version: readPackageVersion(import.meta.url),
  loadConfig: () => loadConfig(),
  setup: async (ctx) => {
    const prisma = attachDatabase(ctx);
    const c = ctx.config;
    // The backlog of the work queue the dialer drains, and of its call-end consumer.
    registerConsumerLagMetrics(ctx.registry, ctx.nc, [
      { stream: ctx.names.streams.callRequests.name, consumer: ctx.names.consumers.callRequests },
      {
        stream: ctx.names.streams.calls.name,
        consumer: ctx.names.consumers.schedulerOnCallEnded,
      },
    ]);
    const { TWILIO_ACCOUNT_SID: accountSid, TWILIO_AUTH_TOKEN: authToken } = c;
    if (!accountSid || !authToken) {
      ctx.log.warn('TWILIO_ACCOUNT_SID is not set: call requests are recorded but not dialed');
    }
    const scheduler = await startScheduler({
      nc: ctx.nc,
      names: ctx.names,
      prisma,
      dialer:
        accountSid && authToken
          ? twilioDialer({
              accountSid,
              authToken,
              apiBaseUrl: c.TWILIO_API_BASE_URL,
              timeoutMs: c.TWILIO_REQUEST_TIMEOUT_MS,
            })
          : null,
      settings: {
        gatewayUrl: c.GATEWAY_PUBLIC_URL,
        openaiSipUri: c.OPENAI_SIP_URI,
        ringTimeoutSec: c.DIAL_RING_TIMEOUT_SEC,
        maxCps: c.DIAL_MAX_CPS,
        maxCpsPerNumber: c.DIAL_MAX_CPS_PER_NUMBER,
        maxConcurrent: c.DIAL_MAX_CONCURRENT,
        maxAttempts: c.DIAL_MAX_ATTEMPTS,
        retryBackoffMs: c.DIAL_RETRY_BACKOFF_MS,
        transientBackoffMs: c.DIAL_TRANSIENT_BACKOFF_MS,
        maxTransientFailures: c.DIAL_MAX_TRANSIENT_FAILURES,
        parallelism: c.DIAL_PARALLELISM,
        pollIntervalMs: c.DIAL_POLL_INTERVAL_MS,
        reclaimAfterMs: c.DIAL_RECLAIM_AFTER_MS,
        liveCheckAfterMs: c.DIAL_LIVE_CHECK_AFTER_MS,
      },
      campaign: {
        pollIntervalMs: c.CAMPAIGN_POLL_INTERVAL_MS,
        progressIntervalMs: c.CAMPAIGN_PROGRESS_INTERVAL_MS,
        republishAfterMs: c.CAMPAIGN_REPUBLISH_AFTER_MS,
      },
      pod: c.POD_NAME,
      log: ctx.log,
      registry: ctx.registry,
    });
    // Stop claiming and give back what waits while NATS and the database are still up.
    ctx.onDrain('dialer', () => scheduler.stop());
  },
});
