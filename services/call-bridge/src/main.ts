// Owns live calls: Twilio media WebSocket <-> OpenAI Realtime WebSocket, SIP sideband control.
// Composition root: wiring only (STYLE.md 6.2).
import { jetstream } from '@nats-io/jetstream';

import { CallOwners } from '@app/contracts';
import { attachDatabase } from '@app/db';
import { readPackageVersion, runService } from '@app/platform';
import { toolSpecsForAgent } from '@app/tools';

import { agentSessionLoader } from './adapters/agent-sessions.js';
import { callEventPublisher } from './adapters/call-events.js';
import { callOwnership, OwnerHeartbeats } from './adapters/call-ownership.js';
import { disclosureRecorder } from './adapters/disclosure-record.js';
import { handoffClient } from './adapters/handoff-client.js';
import { openAIRealtime, realtimeEndpoint } from './adapters/openai-realtime.js';
import { openAISideband } from './adapters/openai-sideband.js';
import { openAISipCalls } from './adapters/openai-sip-calls.js';
import { toolRunnerClient } from './adapters/tool-runner-client.js';
import { twilioCalls } from './adapters/twilio-calls.js';
import { loadConfig } from './config.js';
import { LiveCalls } from './domain/live-calls.js';
import { startOwnerSweeper } from './handlers/owner-sweeper.js';
import { serveSipOffers } from './handlers/sip-offers.js';
import type { CallWiring } from './launch-call.js';
import { createBridgeMetrics, registerBridgeGauges } from './metrics.js';
import { mediaStreamRoutes } from './routes/media-stream.js';

await runService({
  name: 'call-bridge',
  version: readPackageVersion(import.meta.url),
  loadConfig: () => loadConfig(),
  setup: async (ctx) => {
    const prisma = attachDatabase(ctx);
    const calls = new LiveCalls(ctx.config.MAX_CALLS);
    ctx.setCapacity(() => ({ used: calls.size, limit: calls.limit }));
    ctx.onDrain('live-calls', async () => {
      const result = await calls.drain(ctx.config.DRAIN_TIMEOUT_MS);
      ctx.log.info(result, 'calls drained');
    });
    const { OPENAI_API_KEY: apiKey } = ctx.config;
    if (!apiKey) {
      ctx.log.warn(
        'OPENAI_API_KEY is not set: media streams will be refused, SIP offers not served',
      );
    }
    const connection = {
      apiKey: apiKey ?? '',
      baseURL: ctx.config.OPENAI_BASE_URL,
      realtimeUrl: ctx.config.OPENAI_REALTIME_URL,
      ca: ctx.config.OPENAI_REALTIME_CA,
      maxReconnects: ctx.config.REALTIME_MAX_RECONNECTS,
    };
    const endpoint = apiKey ? realtimeEndpoint(connection) : null;
    const owners = await CallOwners.open(ctx.nc, ctx.names, ctx.log);
    const heartbeats = new OwnerHeartbeats();
    registerBridgeGauges(ctx.registry, {
      maxCalls: ctx.config.MAX_CALLS,
      ownerHeartbeatAgeSeconds: () => heartbeats.oldestAgeSeconds(),
    });
    const sipCalls = endpoint ? openAISipCalls(endpoint.client) : null;
    const sweeper = startOwnerSweeper({
      ...(sipCalls ? { hangUpSip: (id: string) => sipCalls.hangup(id) } : {}),
      prisma,
      owners,
      nc: ctx.nc,
      js: jetstream(ctx.nc),
      names: ctx.names,
      log: ctx.log.child({ component: 'owner-sweeper' }),
      staleAfterMs: ctx.config.OWNER_STALE_AFTER_MS,
      intervalMs: ctx.config.OWNER_SWEEP_INTERVAL_MS,
    });
    const { TWILIO_ACCOUNT_SID: accountSid, TWILIO_AUTH_TOKEN: authToken } = ctx.config;
    if (!accountSid || !authToken) {
      ctx.log.warn(
        'TWILIO_ACCOUNT_SID is not set: a call whose voice model fails is hung up without an apology',
      );
    }
    ctx.onClose('owner-sweeper', async () => sweeper.stop());
    // What every call shares, whichever path it came by.
    const recordDisclosure = disclosureRecorder(prisma);
    const wiring: CallWiring = {
      pod: ctx.config.POD_NAME,
      publish: callEventPublisher(jetstream(ctx.nc), ctx.names),
      metrics: createBridgeMetrics(ctx.registry),
      recovery: {
        reconnectTimeoutMs: ctx.config.REALTIME_RECONNECT_TIMEOUT_MS,
        responseRetries: ctx.config.REALTIME_RESPONSE_RETRIES,
      },
      onCallLive: callOwnership({
        nc: ctx.nc,
        names: ctx.names,
        owners,
        pod: ctx.config.POD_NAME,
        heartbeatMs: ctx.config.CALL_OWNER_HEARTBEAT_MS,
        heartbeats,
        log: ctx.log.child({ component: 'call-ownership' }),
      }),
      runTool: toolRunnerClient({
        nc: ctx.nc,
        names: ctx.names,
        timeoutMs: ctx.config.TOOL_TIMEOUT_MS,
        log: ctx.log.child({ component: 'tools' }),
      }),
      toolPolicy: {
        fillerAfterMs: ctx.config.TOOL_FILLER_AFTER_MS,
        fillerInstructions: ctx.config.TOOL_FILLER_INSTRUCTIONS,
        failuresBeforeHandoff: ctx.config.TOOL_FAILURES_BEFORE_HANDOFF,
      },
      handOff: handoffClient({
        nc: ctx.nc,
        names: ctx.names,
        timeoutMs: ctx.config.HANDOFF_TIMEOUT_MS,
        log: ctx.log.child({ component: 'handoff' }),
      }),
      handoffDigit: ctx.config.HANDOFF_DTMF_DIGIT === 'off' ? null : ctx.config.HANDOFF_DTMF_DIGIT,
      // [privacy] the agent's disclosure, once said, is recorded as consent-by-notice
      disclosureSaid: async (callId: string) => {
        const result = await recordDisclosure(callId);
        if (!result.recorded)
          ctx.log.warn({ callId, reason: result.reason }, 'disclosure not recorded');
      },
    };
    // The model is offered the agent's tools as the tool-runner will run them.
    const loadAgent = agentSessionLoader(
      prisma,
      (toolNames) => toolSpecsForAgent(prisma, toolNames),
      {
        onDatabaseDown: (what, err) =>
          ctx.log.warn(
            { err, what },
            what === 'agent'
              ? "database unavailable: the call uses the agent's last known settings"
              : "database unavailable: the call's variables are left empty",
          ),
      },
    );
    if (endpoint) {
      const offers = serveSipOffers({
        ...wiring,
        nc: ctx.nc,
        names: ctx.names,
        pod: ctx.config.POD_NAME,
        calls,
        owners,
        loadAgent,
        sipCalls: sipCalls ?? openAISipCalls(endpoint.client),
        openSideband: openAISideband(endpoint, {
          maxReconnects: ctx.config.REALTIME_MAX_RECONNECTS,
        }),
        log: ctx.log.child({ component: 'sip-offers' }),
      });
      // Stop taking offers first; calls already taken drain with the rest.
      ctx.onDrain('sip-offers', async () => offers.unsubscribe());
    }
    await ctx.app.register(mediaStreamRoutes, {
      ...wiring,
      calls,
      streamTokenSecret: ctx.config.STREAM_TOKEN_SECRET,
      openRealtime: endpoint ? openAIRealtime(connection, endpoint) : null,
      twilioCalls:
        accountSid && authToken
          ? twilioCalls({ accountSid, authToken, apiBaseUrl: ctx.config.TWILIO_API_BASE_URL })
          : null,
      apologyText: ctx.config.PROVIDER_FAILURE_MESSAGE,
      loadAgent,
    });
  },
});
