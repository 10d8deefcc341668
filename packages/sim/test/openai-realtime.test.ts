import { afterEach, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import WebSocket from 'ws';

import { encodeMulaw, encodeTag } from '../src/audio/index.js';
import { startOpenAISim, type OpenAISim } from '../src/openai/index.js';
import { RealtimeTestClient, taggedUtterance } from '../src/openai/testing.js';
import { ScenarioBook } from '../src/scenario-book.js';
import { parseScenario } from '../src/scenario.js';

const KEY = 'sk-test-key';
const PCMU_SESSION = {
  type: 'realtime',
  audio: {
    input: {
      format: { type: 'audio/pcmu' },
      transcription: { model: 'gpt-4o-mini-transcribe' },
      turn_detection: { type: 'server_vad', silence_duration_ms: 500 },
    },
    output: { format: { type: 'audio/pcmu' }, voice: 'marin' },
  },
  tools: [
    { type: 'function', name: 'lookup_order', parameters: { type: 'object', properties: {} } },
  ],
};

const scenario = parseScenario({
  name: 'order status',
  caller: { steps: [{ say: 'Where is my order?' }, { waitForAgent: {} }, { say: 'Thanks, bye.' }] },
  model: {
    greeting: 'Hi, this is Example Corp.',
    turns: [
      {
        toolCall: { name: 'lookup_order', arguments: { order_id: '42' } },
        sayAfterTool: 'Your order is {output}.',
      },
      { say: 'You are welcome, goodbye.' },
    ],
  },
});

let sim: OpenAISim;
let book: ScenarioBook;
const clients: RealtimeTestClient[] = [];

async function connect(query = '?model=gpt-realtime'): Promise<RealtimeTestClient> {
  const c = await RealtimeTestClient.connect(`${sim.wsUrl}${query}`, { apiKey: KEY });
  clients.push(c);
  return c;
}

async function pcmuSession(extra: Record<string, unknown> = {}): Promise<RealtimeTestClient> {
  const c = await connect();
  await c.waitFor('session.created');
  c.send({ type: 'session.update', session: { ...PCMU_SESSION, ...extra } });
  await c.waitFor('session.updated');
  return c;
}

beforeEach(async () => {
  book = new ScenarioBook();
  sim = await startOpenAISim({ apiKeys: [KEY], scenarios: book, pacing: 'fast' });
});

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await sim.close();
});

describe('openai-sim websocket handshake', () => {
  it('refuses a missing or wrong key with HTTP 401', async () => {
    await expect(
      RealtimeTestClient.connect(`${sim.wsUrl}?model=gpt-realtime`),
    ).rejects.toMatchObject({ status: 401 });
    await expect(
      RealtimeTestClient.connect(`${sim.wsUrl}?model=gpt-realtime`, { apiKey: 'sk-wrong' }),
    ).rejects.toMatchObject({ status: 401 });
  });

  it('refuses an unknown call_id with HTTP 404', async () => {
    await expect(
      RealtimeTestClient.connect(`${sim.wsUrl}?call_id=rtc_nope`, { apiKey: KEY }),
    ).rejects.toMatchObject({ status: 404 });
  });

  it('sends session.created first, in the GA shape', async () => {
    const c = await connect();
    const created = await c.waitFor('session.created');
    expect(c.events[0]?.type).toBe('session.created');
    expect(created.session).toMatchObject({
      type: 'realtime',
      object: 'realtime.session',
      model: 'gpt-realtime',
      audio: { input: { format: { type: 'audio/pcm', rate: 24000 } } },
    });
    expect((created.session as { id: string }).id).toMatch(/^sess_/);
  });
});

describe('openai-sim session.update', () => {
  it('merges a valid update and answers session.updated with the full config', async () => {
    const c = await pcmuSession();
    const updated = c.ofType('session.updated')[0];
    expect(updated?.session).toMatchObject({
      audio: {
        input: {
          format: { type: 'audio/pcmu' },
          turn_detection: { type: 'server_vad', silence_duration_ms: 500, create_response: true },
        },
      },
      instructions: expect.any(String),
    });
  });

  it.each([
    [{ type: 'realtime', modalities: ['audio'] }, 'unknown_parameter', 'session.modalities'],
    [{ instructions: 'hi' }, 'missing_required_parameter', 'session.type'],
    [
      { type: 'realtime', audio: { input: { format: { type: 'audio/pcm', rate: 16000 } } } },
      'invalid_value',
      'session.audio.input.format.rate',
    ],
    [{ type: 'realtime', model: 'gpt-realtime-mini' }, 'invalid_value', 'session.model'],
    [
      { type: 'realtime', audio: { output: { voice: 'bob' } } },
      'invalid_value',
      'session.audio.output.voice',
    ],
  ])('rejects %j with %s', async (session, code, param) => {
    const c = await connect();
    await c.waitFor('session.created');
    c.send({ type: 'session.update', event_id: 'cli_1', session });
    const err = await c.waitFor('error');
    expect(err.error).toEqual({
      type: 'invalid_request_error',
      code,
      message: expect.any(String),
      param,
      event_id: 'cli_1',
    });
    expect(c.ofType('session.updated')).toHaveLength(0);
  });
});

describe('openai-sim bad client input', () => {
  it('answers malformed JSON, unknown types and missing fields with error events and keeps going', async () => {
    const c = await connect();
    const created = await c.waitFor('session.created');
    c.sendRaw('{not json');
    expect((await c.waitFor('error')).error).toMatchObject({
      type: 'invalid_request_error',
      code: 'invalid_json',
    });
    c.send({ type: 'session.frobnicate', event_id: 'e2' });
    expect((await c.waitFor('error')).error).toMatchObject({
      code: 'invalid_value',
      param: 'type',
      event_id: 'e2',
    });
    c.send({ event_id: 'e3' });
    expect((await c.waitFor('error')).error).toMatchObject({
      code: 'invalid_event',
      event_id: 'e3',
    });
    c.send({ type: 'conversation.item.create' });
    expect((await c.waitFor('error')).error).toMatchObject({
      code: 'missing_required_parameter',
      param: 'item',
    });
    c.send({ type: 'input_audio_buffer.commit' });
    expect((await c.waitFor('error')).error).toMatchObject({
      code: 'input_audio_buffer_commit_empty',
    });
    c.send({ type: 'response.cancel' });
    expect((await c.waitFor('error')).error).toMatchObject({ code: 'response_cancel_not_active' });
    c.send({ type: 'session.update', session: { type: 'realtime', instructions: 'still alive' } });
    expect((await c.waitFor('session.updated')).session).toMatchObject({
      instructions: 'still alive',
    });
    const id = (created.session as { id: string }).id;
    expect(sim.session(id)?.badInputs.map((b) => b.kind)).toEqual([
      'invalid_json',
      'invalid_value',
      'invalid_event',
      'missing_required_parameter',
      'input_audio_buffer_commit_empty',
      'response_cancel_not_active',
    ]);
  });
});

describe('openai-sim conversation from a scenario', () => {
  it('hears a tagged utterance: VAD events, commit, transcription, then the scenario reply', async () => {
    const runId = book.register(scenario);
    const c = await pcmuSession();
    c.appendAudio(taggedUtterance({ runId, turn: 0, text: 'Where is my order?' }));
    const started = await c.waitFor('input_audio_buffer.speech_started');
    const stopped = await c.waitFor('input_audio_buffer.speech_stopped');
    expect(stopped.item_id).toBe(started.item_id);
    expect(stopped.audio_end_ms as number).toBeGreaterThan(started.audio_start_ms as number);
    const committed = await c.waitFor('input_audio_buffer.committed');
    expect(committed.item_id).toBe(started.item_id);
    const transcript = await c.waitFor('conversation.item.input_audio_transcription.completed');
    expect(transcript.transcript).toBe('Where is my order?');
    // Turn 0 is a tool call: arguments, then response.done with the call in output.
    const args = await c.waitFor('response.function_call_arguments.done');
    expect(args).toMatchObject({ name: 'lookup_order', arguments: '{"order_id":"42"}' });
    expect(args.call_id).toMatch(/^call_/);
    const done = await c.waitFor('response.done');
    expect(done.response).toMatchObject({
      status: 'completed',
      output: [{ type: 'function_call', call_id: args.call_id }],
    });
    c.send({
      type: 'conversation.item.create',
      item: { type: 'function_call_output', call_id: args.call_id, output: '"shipped"' },
    });
    await c.waitFor(
      'conversation.item.added',
      (e) => (e.item as { type: string }).type === 'function_call_output',
    );
    c.send({ type: 'response.create' });
    const said = await c.waitFor('response.output_audio_transcript.done');
    expect(said.transcript).toBe('Your order is "shipped".');
    const done2 = await c.waitFor('response.done');
    expect(done2.response).toMatchObject({
      status: 'completed',
      usage: { output_tokens: expect.any(Number) },
    });
    expect(c.ofType('response.output_audio.delta').length).toBeGreaterThan(3);
    expect(c.ofType('rate_limits.updated').length).toBe(2);
    const order = c.events
      .map((e) => e.type)
      .filter((t) => t.startsWith('response.') && !t.endsWith('.delta'));
    expect(order.slice(-8)).toEqual([
      'response.created',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_audio.done',
      'response.output_audio_transcript.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.done',
    ]);
  });

  it("a response's own tool_choice 'none' overrides the session's: no function call", async () => {
    const runId = book.register(scenario);
    const c = await pcmuSession({
      audio: {
        ...PCMU_SESSION.audio,
        input: {
          ...PCMU_SESSION.audio.input,
          turn_detection: { type: 'server_vad', silence_duration_ms: 500, create_response: false },
        },
      },
    });
    c.appendAudio(taggedUtterance({ runId, turn: 0, text: 'Where is my order?' }));
    await c.waitFor('input_audio_buffer.committed');
    c.send({ type: 'response.create', response: { tool_choice: 'none' } });
    const done = await c.waitFor('response.done');
    expect(c.ofType('response.function_call_arguments.done')).toEqual([]);
    expect(done.response).toMatchObject({ output: [{ type: 'message' }] });
  });

  it('greets with the neutral default before any scenario is bound', async () => {
    const c = await pcmuSession();
    c.send({ type: 'response.create' });
    const said = await c.waitFor('response.output_audio_transcript.done');
    expect(said.transcript).toMatch(/^Hello/);
  });

  it('holds a first response until the caller announces its run, then greets with its scenario', async () => {
    const c = await pcmuSession();
    // A bridge asks the agent to greet as soon as the stream opens, before any caller audio.
    c.send({ type: 'response.create' });
    const runId = book.register(scenario);
    // The caller's stream starts with its run tag, then waits (silence) for the greeting.
    c.appendAudio(encodeMulaw(encodeTag({ kind: 'run', value: runId })));
    const said = await c.waitFor('response.output_audio_transcript.done');
    expect(said.transcript).toBe('Hi, this is Example Corp.');
  });

  it('rejects a second response.create while one is active', async () => {
    const c = await pcmuSession();
    c.send({ type: 'response.create' });
    c.send({ type: 'response.create', event_id: 'dup' });
    expect((await c.waitFor('error')).error).toMatchObject({
      code: 'conversation_already_has_active_response',
      event_id: 'dup',
    });
  });

  it('rejects a function_call_output for an unknown call_id', async () => {
    const c = await pcmuSession();
    c.send({
      type: 'conversation.item.create',
      item: { type: 'function_call_output', call_id: 'call_x', output: '{}' },
    });
    expect((await c.waitFor('error')).error).toMatchObject({
      code: 'invalid_value',
      param: 'item.call_id',
    });
  });
});

describe('openai-sim truncation', () => {
  it('truncates an assistant item within its audio and refuses beyond it', async () => {
    const c = await pcmuSession();
    c.send({ type: 'response.create' });
    const done = await c.waitFor('response.done');
    const item = (done.response as { output: Array<{ id: string }> }).output[0] as { id: string };
    const deltas = c.ofType('response.output_audio.delta');
    const audioMs = deltas.reduce(
      (n, d) => n + Buffer.from(d.delta as string, 'base64').length / 8,
      0,
    );
    c.send({
      type: 'conversation.item.truncate',
      event_id: 't1',
      item_id: item.id,
      content_index: 0,
      audio_end_ms: Math.ceil(audioMs) + 500,
    });
    const err = await c.waitFor('error');
    expect(err.error).toMatchObject({
      code: 'invalid_value',
      param: 'audio_end_ms',
      event_id: 't1',
    });
    expect((err.error as { message: string }).message).toMatch(/already shorter than/);
    c.send({
      type: 'conversation.item.truncate',
      item_id: item.id,
      content_index: 0,
      audio_end_ms: 600,
    });
    expect(await c.waitFor('conversation.item.truncated')).toMatchObject({
      item_id: item.id,
      audio_end_ms: 600,
    });
    c.send({ type: 'conversation.item.retrieve', item_id: item.id });
    const got = await c.waitFor('conversation.item.retrieved');
    const transcript =
      (got.item as { content: Array<{ transcript: string }> }).content[0]?.transcript ?? '';
    expect(transcript.length).toBeGreaterThan(0);
    expect(transcript.length).toBeLessThan(
      'Hello, thanks for calling. How can I help you today?'.length,
    );
  });
});

describe('openai-sim faults', () => {
  it('expires a session with session_expired and close 1001', async () => {
    sim.faults.set({ maxSessionMs: 300 });
    const c = await connect();
    const err = await c.waitFor('error');
    expect(err.error).toMatchObject({ code: 'session_expired' });
    const closed = await c.closed;
    expect(closed.code).toBe(1001);
    expect(closed.reason).toMatch(/maximum duration/);
  });

  it('drops the socket mid-response without a close frame', async () => {
    sim.faults.set({ dropSocketAfterAudioDeltas: 2 });
    const c = await pcmuSession();
    c.send({ type: 'response.create' });
    const closed = await c.closed;
    expect(closed.code).toBe(1006);
    expect(c.ofType('response.done')).toHaveLength(0);
  });

  it('injects server and rate-limit errors on response.create', async () => {
    const c = await pcmuSession();
    const id = sim.sessions()[0]?.id as string;
    sim.faults.setFor(id, { wsServerErrors: 1, wsRateLimits: 1 });
    c.send({ type: 'response.create' });
    expect((await c.waitFor('error')).error).toMatchObject({ code: 'rate_limit_exceeded' });
    c.send({ type: 'response.create' });
    expect((await c.waitFor('error')).error).toMatchObject({ type: 'server_error' });
    c.send({ type: 'response.create' });
    expect((await c.waitFor('response.done')).response).toMatchObject({ status: 'completed' });
  });

  it('precedes the next N events with one malformed frame each, cycling kinds, losing no event', async () => {
    // A raw client: it must see exactly what goes over the wire, bad frames included.
    const frames: Array<{ binary: boolean; text: string }> = [];
    const ws = new WebSocket(`${sim.wsUrl}?model=gpt-realtime`, {
      headers: { authorization: `Bearer ${KEY}` },
    });
    onTestFinished(() => ws.close());
    ws.on('message', (data, isBinary) => frames.push({ binary: isBinary, text: String(data) }));
    const kinds = () =>
      frames.map((f) => {
        if (f.binary) return 'binary';
        try {
          const v = JSON.parse(f.text) as { type?: unknown };
          return typeof v.type === 'string' ? v.type : 'missing-type';
        } catch {
          return 'invalid-json';
        }
      });
    const until = async (type: string) => {
      for (let i = 0; i < 200 && !kinds().includes(type); i++) {
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    await until('conversation.created');
    const id = JSON.parse(frames[0]?.text ?? '{}').session.id as string;
    sim.faults.setFor(id, { malformedEvents: 5 });
    ws.send(JSON.stringify({ type: 'session.update', session: { type: 'realtime' } }));
    ws.send(JSON.stringify({ type: 'response.create' }));
    await until('response.done');

    expect(kinds().slice(0, 12)).toEqual([
      'session.created',
      'conversation.created',
      'invalid-json',
      'session.updated',
      'missing-type',
      'response.created',
      'response.bogus_event',
      'rate_limits.updated',
      'binary',
      'response.output_item.added',
      'invalid-json', // the fifth: the cycle starts again
      'conversation.item.added',
    ]);
    const bad = new Set(['invalid-json', 'missing-type', 'response.bogus_event', 'binary']);
    expect(
      kinds()
        .slice(12)
        .filter((k) => bad.has(k)),
    ).toEqual([]);
    // Every real event still arrived, in order: the same list the session logged as sent.
    const info = sim.session(id);
    expect(kinds().filter((k) => !bad.has(k))).toEqual(info?.sent.map((e) => e.type));
    expect(info?.badInputs).toEqual([]);
  });

  it('logs each sent event when it is written, after the injected eventDelayMs', async () => {
    sim.faults.set({ eventDelayMs: 100 });
    const before = performance.timeOrigin + performance.now();
    const c = await connect();
    const created = await c.waitFor('session.created');
    await c.waitFor('conversation.created');
    const sent = sim.session((created.session as { id: string }).id)?.sent ?? [];
    expect(sent.map((e) => e.type)).toEqual(['session.created', 'conversation.created']);
    // Each event waits 100 ms behind the one before it (timers may fire a little early).
    expect((sent[0]?.atEpochMs ?? 0) - before).toBeGreaterThanOrEqual(95);
    expect((sent[1]?.atEpochMs ?? 0) - (sent[0]?.atEpochMs ?? 0)).toBeGreaterThanOrEqual(95);
  });

  it('delays events by eventDelayMs', async () => {
    sim.faults.set({ eventDelayMs: 150 });
    const t0 = performance.now();
    const c = await connect();
    await c.waitFor('session.created');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(140);
  });
});

describe('openai-sim realtime pacing and barge-in', () => {
  let rt: OpenAISim;
  beforeEach(async () => {
    rt = await startOpenAISim({ apiKeys: [KEY], scenarios: book, pacing: 'realtime' });
  });
  afterEach(async () => {
    await rt.close();
  });

  async function rtSession(turnDetection: Record<string, unknown>): Promise<RealtimeTestClient> {
    const c = await RealtimeTestClient.connect(`${rt.wsUrl}?model=gpt-realtime`, { apiKey: KEY });
    clients.push(c);
    c.send({
      type: 'session.update',
      session: {
        ...PCMU_SESSION,
        audio: {
          ...PCMU_SESSION.audio,
          input: { ...PCMU_SESSION.audio.input, turn_detection: turnDetection },
        },
      },
    });
    await c.waitFor('session.updated');
    return c;
  }

  it('sends output audio no faster than real time', async () => {
    const c = await rtSession({ type: 'server_vad' });
    const times: Array<{ at: number; ms: number }> = [];
    c.ws.on('message', (data) => {
      const e = JSON.parse(String(data)) as { type: string; delta?: string };
      if (e.type === 'response.output_audio.delta') {
        times.push({
          at: performance.now(),
          ms: Buffer.from(e.delta as string, 'base64').length / 8,
        });
      }
    });
    c.send({
      type: 'response.create',
      response: { instructions: "Say 'One moment please, checking.'" },
    });
    await c.waitFor('response.done', () => true, 5_000);
    const audioMs = times.reduce((n, t) => n + t.ms, 0);
    const wallMs = (times.at(-1)?.at ?? 0) - (times[0]?.at ?? 0);
    // The last chunk may leave one chunk (100 ms) ahead of the clock; allow timer jitter.
    expect(wallMs).toBeGreaterThanOrEqual(audioMs - 100 - (times.at(-1)?.ms ?? 0) - 30);
  });

  it('cancels the response on speech_started when interrupt_response is on (turn_detected)', async () => {
    const c = await rtSession({
      type: 'server_vad',
      interrupt_response: true,
      create_response: false,
    });
    c.send({
      type: 'response.create',
      response: {
        instructions: "Say 'This is a rather long answer that the caller will interrupt.'",
      },
    });
    await c.waitFor('response.output_audio.delta');
    c.appendAudio(taggedUtterance({ text: 'Wait, stop.', trailingSilenceMs: 0 }));
    await c.waitFor('input_audio_buffer.speech_started');
    const done = await c.waitFor('response.done');
    expect(done.response).toMatchObject({
      status: 'cancelled',
      status_details: { type: 'cancelled', reason: 'turn_detected' },
    });
  });

  it('keeps streaming through speech when interrupt_response is off, until response.cancel', async () => {
    const c = await rtSession({
      type: 'server_vad',
      interrupt_response: false,
      create_response: false,
    });
    c.send({
      type: 'response.create',
      response: {
        instructions: "Say 'This is a rather long answer that the caller will interrupt.'",
      },
    });
    await c.waitFor('response.output_audio.delta');
    c.appendAudio(taggedUtterance({ text: 'Wait, stop.', trailingSilenceMs: 0 }));
    await c.waitFor('input_audio_buffer.speech_started');
    await new Promise((r) => setTimeout(r, 150));
    expect(c.ofType('response.done')).toHaveLength(0);
    c.send({ type: 'response.cancel' });
    const done = await c.waitFor('response.done');
    expect(done.response).toMatchObject({
      status: 'cancelled',
      status_details: { reason: 'client_cancelled' },
    });
    // The .done events still close the item (§4).
    expect(c.ofType('response.output_item.done')).toHaveLength(1);
  });
});
