/**
 * Provider faults mid-call, end to end: the OpenAI socket drops (recovered with the same config
 * and conversation), drops again beyond the limit (the caller hears the apology through Twilio
 * and the call ends provider-error), error events (the response is asked for again) and
 * malformed events (skipped). Simulators, real NATS and PostgreSQL; one reconnect allowed.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { parseScenario, type Scenario } from '@app/sim';

import { APOLOGY, CALLER, OUR_NUMBER, startHarness, waitFor, type Harness } from './harness.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness({ pacing: 'fast', maxReconnects: 1 });
});

afterEach(() => {
  h.sims.openai.faults.reset();
});

afterAll(async () => {
  await h?.close();
});

const GREETING = 'Hello, thanks for calling the garden centre. How can I help?';
const ANSWER_1 =
  'We open at nine in the morning on weekdays, and at ten on Saturdays and Sundays, all year round.';
const ANSWER_2 = 'Yes, there is free parking right behind the shop.';

/** Two questions; the caller waits long enough (4 s of call time) to ride out a reconnect. */
function twoQuestions(name: string): Scenario {
  return parseScenario({
    name,
    caller: {
      steps: [
        { waitForAgent: { quietMs: 4_000, timeoutMs: 30_000 } },
        { say: 'When do you open?' },
        { waitForAgent: { quietMs: 4_000, timeoutMs: 30_000 } },
        { say: 'Is there parking?' },
        { waitForAgent: { quietMs: 4_000, timeoutMs: 30_000 } },
        { hangup: true },
      ],
    },
    model: { greeting: GREETING, turns: [{ say: ANSWER_1 }, { say: ANSWER_2 }] },
  });
}

async function ring(name: string) {
  return h.sims.twilio.ringInbound({ to: OUR_NUMBER, from: CALLER, scenario: twoQuestions(name) });
}

/** The live OpenAI session of a scenario, once the caller's run tag bound it. */
const liveSession = (name: string) =>
  waitFor(() => h.sims.openai.sessions().find((s) => s.scenario === name && !s.closed));

async function recordOf(callSid: string) {
  const callId = await h.callIdOf(callSid);
  const events = await h.endedEventsOf(callId);
  const row = await waitFor(async () => {
    const c = await h.prisma.call.findUnique({
      where: { id: callId },
      include: { transcriptTurns: { orderBy: { sequence: 'asc' } } },
    });
    return c?.endReason ? c : undefined;
  });
  return { callId, events, row };
}

const errorCodes = (events: Array<{ type: string; data: Record<string, unknown> }>) =>
  events.filter((e) => e.type === 'call.error').map((e) => e.data.code);

describe('call-bridge - provider faults', { timeout: 60_000 }, () => {
  it('a dropped OpenAI socket mid-call is reconnected with the same session and context; the call completes', async () => {
    const call = await ring('drop-once');
    const first = await liveSession('drop-once');
    // The connection drops a few deltas into the next answer.
    h.sims.openai.faults.setFor(first.id, { dropSocketAfterAudioDeltas: 3 });
    const end = await call.ended;
    expect(end.status).toBe('completed');
    const { events, row } = await recordOf(call.callSid);

    expect(row).toMatchObject({ status: 'completed', endReason: 'caller-hangup' });
    expect((row.metrics as Record<string, number>).recoveries).toBe(1);
    expect(errorCodes(events)).toEqual(['realtime_disconnected']);
    // The caller heard every line once, in order: the cut line was given again in full.
    expect(row.transcriptTurns.map((t) => [t.role, t.text])).toEqual([
      ['assistant', GREETING],
      ['user', 'When do you open?'],
      ['assistant', ANSWER_1],
      ['user', 'Is there parking?'],
      ['assistant', ANSWER_2],
    ]);
    // A second provider session took over with the agent's config and nothing it did not like.
    const sessions = h.sims.openai.sessions().filter((s) => s.runId === first.runId);
    expect(sessions).toHaveLength(2);
    const [lost, fresh] = sessions;
    expect(lost?.closed).toBe(true);
    expect(fresh?.config.instructions).toBe('Be brief.');
    expect(fresh?.config.audio.input.format).toEqual({ type: 'audio/pcmu' });
    expect(fresh?.badInputs).toEqual([]);
    expect(call.recording.ofKind('protocol.error')).toEqual([]);
    expect(call.recording.ofKind('twiml.say')).toEqual([]);
  });

  it('a second drop beyond the limit: the caller hears the apology and the call ends provider-error', async () => {
    // Every session of this call drops a few deltas into any response.
    h.sims.openai.faults.set({ dropSocketAfterAudioDeltas: 2 });
    const call = await ring('drop-twice');
    const end = await call.ended;
    expect(end.status).toBe('completed');
    const said = call.recording.ofKind('twiml.say');
    expect(said.map((e) => e.data?.text)).toEqual([APOLOGY]);
    const { events, row } = await recordOf(call.callSid);
    expect(row).toMatchObject({ status: 'failed', endReason: 'provider-error' });
    expect(errorCodes(events)).toEqual(['realtime_disconnected', 'realtime_lost']);
    expect(events.find((e) => e.type === 'call.ended')?.data.reason).toBe('provider-error');
    await waitFor(() => (h.calls.size === 0 ? true : undefined));
  });

  it('OpenAI error events and malformed events: the response is asked for again, bad frames are skipped, and a call alongside is untouched', async () => {
    const bystander = await ring('bystander');
    const call = await ring('flaky');
    const session = await liveSession('flaky');
    h.sims.openai.faults.setFor(session.id, { wsServerErrors: 1, malformedEvents: 4 });
    const [endFlaky, endBystander] = await Promise.all([call.ended, bystander.ended]);
    expect(endFlaky.status).toBe('completed');
    expect(endBystander.status).toBe('completed');

    const flaky = await recordOf(call.callSid);
    expect(flaky.row).toMatchObject({ status: 'completed', endReason: 'caller-hangup' });
    const codes = errorCodes(flaky.events);
    // Invalid JSON, an object without `type` and a binary frame are skipped and reported; an
    // unknown event type is valid JSON the API may add any day, and is ignored.
    expect(codes.filter((c) => c === 'realtime_malformed_event')).toHaveLength(3);
    expect(codes.filter((c) => c === 'server_error')).toHaveLength(1);
    expect(flaky.events.find((e) => e.data.code === 'server_error')?.data.retryable).toBe(true);
    // The failed response was asked for again: every answer still came.
    expect(flaky.row.transcriptTurns.map((t) => t.text)).toEqual([
      GREETING,
      'When do you open?',
      ANSWER_1,
      'Is there parking?',
      ANSWER_2,
    ]);
    const other = await recordOf(bystander.callSid);
    expect(errorCodes(other.events)).toEqual([]);
    expect(other.row.transcriptTurns).toHaveLength(5);
    const errors = await h.metrics.providerErrors.get();
    const byCode = Object.fromEntries(errors.values.map((v) => [v.labels.code, v.value]));
    expect(byCode).toMatchObject({ malformed_event: 3, server_error: 1 });
  });
});
