/**
 * Throughput of the gateway's voice webhook: signed `POST /twilio/voice` requests, each a new
 * call (signature check, agent lookup, `created` published to JetStream and projected into
 * PostgreSQL, stream token, TwiML), from a fixed number of concurrent clients per level. When
 * pinning, a gateway of its own is started on the bridge's core, so the clients do not share its
 * CPU.
 */
import { randomBytes } from 'node:crypto';
import { Agent, request } from 'node:http';

import { encodeForm, SIM_DEFAULTS, twilioSignature } from '@app/sim';

import type { WebhookLevel, WebhookResult } from '../results.js';
import type { BenchStack } from '../stack/stack.js';
import { summarize } from '../stats/percentiles.js';

export interface WebhookBenchOptions {
  /** Concurrent clients of each level. */
  levels: number[];
  durationPerLevelMs: number;
  /**
   * Run a gateway of its own pinned to CPU 0 (the bridge is not running then); otherwise use the
   * stack's gateway.
   */
  pin: boolean;
  onProgress?: (message: string) => void;
}

const P99_BUDGET_MS = 50;

function voiceParams(): Record<string, string> {
  return {
    AccountSid: SIM_DEFAULTS.twilio.accountSid,
    ApiVersion: '2010-04-01',
    CallSid: `CA${randomBytes(16).toString('hex')}`,
    CallStatus: 'ringing',
    Called: SIM_DEFAULTS.numbers.mediaStreams,
    Caller: SIM_DEFAULTS.numbers.caller,
    Direction: 'inbound',
    From: SIM_DEFAULTS.numbers.caller,
    To: SIM_DEFAULTS.numbers.mediaStreams,
  };
}

/** One signed webhook; resolves with the HTTP status. */
function post(url: string, authToken: string, agent: Agent): Promise<number> {
  const params = voiceParams();
  const body = encodeForm(params);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'content-length': Buffer.byteLength(body),
          'x-twilio-signature': twilioSignature(authToken, url, params),
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function level(
  url: string,
  authToken: string,
  concurrency: number,
  durationMs: number,
): Promise<WebhookLevel> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const latencies: number[] = [];
  let errors = 0;
  const started = performance.now();
  const until = started + durationMs;
  const worker = async () => {
    while (performance.now() < until) {
      const t0 = performance.now();
      try {
        const status = await post(url, authToken, agent);
        if (status === 200) latencies.push(performance.now() - t0);
        else errors += 1;
      } catch {
        errors += 1;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsedSec = (performance.now() - started) / 1_000;
  agent.destroy();
  return {
    concurrency,
    requests: latencies.length + errors,
    errors,
    perSec: latencies.length / elapsedSec,
    latencyMs: summarize(latencies),
  };
}

export async function runWebhookBench(
  stack: BenchStack,
  opts: WebhookBenchOptions,
): Promise<WebhookResult> {
  const gateway = opts.pin ? await stack.startGateway('0') : { url: stack.gatewayUrl, proc: null };
  try {
    const url = `${gateway.url}/twilio/voice`;
    // Warm-up: JIT, database and NATS connections.
    await level(url, stack.twilioAuthToken, 4, Math.min(2_000, opts.durationPerLevelMs));
    const levels: WebhookLevel[] = [];
    for (const c of opts.levels) {
      opts.onProgress?.(`webhooks: ${c} concurrent clients`);
      levels.push(await level(url, stack.twilioAuthToken, c, opts.durationPerLevelMs));
    }
    const ok = levels.filter(
      (l) => l.errors === 0 && l.latencyMs !== null && l.latencyMs.p99 < P99_BUDGET_MS,
    );
    return {
      durationPerLevelMs: opts.durationPerLevelMs,
      pinned: opts.pin,
      levels,
      maxPerSecUnder50MsP99: ok.length ? Math.max(...ok.map((l) => l.perSec)) : null,
    };
  } finally {
    await gateway.proc?.stop();
  }
}
