/**
 * The NATS event path, end to end: a call event published to JetStream (`calls.<id>.<event>`,
 * as every service does) until its row is in PostgreSQL, written by the gateway's call-record
 * projector. Sequential events give the latency of one; a burst gives the rows per second the
 * projector sustains (it applies events one at a time, in stream order).
 */
import { randomBytes, randomUUID } from 'node:crypto';

import { jetstream } from '@nats-io/jetstream';

import { callEvent, publishEvent, type CallEvent } from '@app/contracts';
import { SIM_DEFAULTS } from '@app/sim';

import type { EventPathResult } from '../results.js';
import type { BenchStack } from '../stack/stack.js';
import { summarize } from '../stats/percentiles.js';

export interface EventPathOptions {
  /** Sequential events (half `created`, half `transcript` of the call just created). */
  events: number;
  /** Events published at once for the throughput figure. */
  burst: number;
  /** Give up waiting for a row after this long, ms. @defaultValue 10 000 */
  timeoutMs?: number;
}

function created(callId: string, agentId: string): CallEvent {
  return callEvent('created', callId, {
    direction: 'inbound',
    transport: 'media-streams',
    from: SIM_DEFAULTS.numbers.caller,
    to: SIM_DEFAULTS.numbers.mediaStreams,
    agentId,
    providerCallSid: `CA${randomBytes(16).toString('hex')}`,
  }) as CallEvent;
}

function transcript(callId: string): CallEvent {
  return callEvent('transcript', callId, {
    role: 'caller',
    text: 'I would like to check my order status.',
    final: true,
  }) as CallEvent;
}

export async function runEventPathBench(
  stack: BenchStack,
  opts: EventPathOptions,
): Promise<EventPathResult> {
  const js = jetstream(stack.nc);
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const ack: number[] = [];
  const toRow: number[] = [];
  const polls: number[] = [];
  /** Polls back to back until the event's row is visible; the resolution is one query. */
  const rowVisible = async (eventId: string) => {
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline) {
      const t = performance.now();
      const r = await stack.db.query('SELECT 1 FROM call_events WHERE event_id = $1', [eventId]);
      polls.push(performance.now() - t);
      if (r.rowCount) return true;
    }
    return false;
  };
  let callId = randomUUID();
  for (let i = 0; i < opts.events; i += 1) {
    if (i % 2 === 0) callId = randomUUID();
    const event = i % 2 === 0 ? created(callId, stack.agentId) : transcript(callId);
    const t0 = performance.now();
    await publishEvent(js, stack.names, event);
    ack.push(performance.now() - t0);
    if (await rowVisible(event.id)) toRow.push(performance.now() - t0);
  }

  const events = Array.from({ length: opts.burst }, () => created(randomUUID(), stack.agentId));
  const ids = events.map((e) => e.id);
  const t0 = performance.now();
  await Promise.all(events.map((e) => publishEvent(js, stack.names, e)));
  let rowsPerSec: number | null = null;
  const deadline = t0 + timeoutMs + opts.burst * 20;
  while (performance.now() < deadline) {
    const r = await stack.db.query<{ n: string }>(
      'SELECT count(*) AS n FROM call_events WHERE event_id = ANY($1)',
      [ids],
    );
    if (Number(r.rows[0]?.n) >= opts.burst) {
      rowsPerSec = opts.burst / ((performance.now() - t0) / 1_000);
      break;
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  const pollMean = polls.length ? polls.reduce((a, b) => a + b, 0) / polls.length : 0;
  return {
    events: opts.events,
    publishAckMs: summarize(ack),
    toRowMs: summarize(toRow),
    burst: { events: opts.burst, rowsPerSec },
    pollMs: pollMean,
  };
}
