/**
 * A session that a bridge opens mid-call, after the first one dropped: it is given the call so
 * far as text items and a `response.create`, and must answer as the scenario's model would at
 * that point of the conversation (openai-realtime.md §3 items, §3.1).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { encodeMulaw, encodeTag } from '../src/audio/index.js';
import { startOpenAISim, type OpenAISim } from '../src/openai/index.js';
import { RealtimeTestClient } from '../src/openai/testing.js';
import { ScenarioBook } from '../src/scenario-book.js';
import { parseScenario } from '../src/scenario.js';

const KEY = 'sk-test-key';
const SESSION = {
  type: 'realtime',
  audio: {
    input: { format: { type: 'audio/pcmu' }, turn_detection: { type: 'server_vad' } },
    output: { format: { type: 'audio/pcmu' } },
  },
  tools: [
    { type: 'function', name: 'lookup_order', parameters: { type: 'object', properties: {} } },
  ],
};

const scenario = parseScenario({
  name: 'orders',
  caller: {
    steps: [
      { say: 'Where is my order?' },
      { waitForAgent: {} },
      { say: 'And can I still change the address?' },
      { waitForAgent: {} },
      { say: 'Thanks, bye.' },
    ],
  },
  model: {
    greeting: 'Hi, this is Example Corp.',
    turns: [
      {
        toolCall: { name: 'lookup_order', arguments: { order_id: '42' } },
        sayAfterTool: 'Your order is {output}.',
      },
      { say: 'Yes, until it ships tomorrow.' },
      { say: 'You are welcome, goodbye.' },
    ],
    fallback: 'Sorry, could you say that again?',
  },
});

const user = (text: string) => ({
  type: 'conversation.item.create',
  item: { type: 'message', role: 'user', content: [{ type: 'input_text', text }] },
});
const assistant = (text: string) => ({
  type: 'conversation.item.create',
  item: { type: 'message', role: 'assistant', content: [{ type: 'output_text', text }] },
});

let sim: OpenAISim;
let book: ScenarioBook;
const clients: RealtimeTestClient[] = [];

beforeEach(async () => {
  book = new ScenarioBook();
  sim = await startOpenAISim({ apiKeys: [KEY], scenarios: book, pacing: 'fast' });
});

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await sim.close();
});

/** A fresh session configured like a phone bridge's; `runId` binds it first (tagged audio). */
async function session(runId?: number): Promise<{ c: RealtimeTestClient; id: string }> {
  const c = await RealtimeTestClient.connect(`${sim.wsUrl}?model=gpt-realtime`, { apiKey: KEY });
  clients.push(c);
  const created = await c.waitFor('session.created');
  c.send({ type: 'session.update', session: SESSION });
  await c.waitFor('session.updated');
  if (runId !== undefined) {
    c.appendAudio(encodeMulaw(encodeTag({ kind: 'run', value: runId })));
    // A round trip: once it is answered, the appended tag has been decoded.
    c.send({ type: 'input_audio_buffer.clear' });
    await c.waitFor('input_audio_buffer.cleared');
  }
  return { c, id: (created.session as { id: string }).id };
}

async function answer(c: RealtimeTestClient): Promise<string> {
  const done = await c.waitFor('response.output_audio_transcript.done');
  await c.waitFor('response.done');
  return String(done.transcript);
}

describe('openai-sim replayed conversation', () => {
  it('answers the caller turn a replayed conversation ends on, without recording bad input', async () => {
    const runId = book.register(scenario);
    const { c, id } = await session(runId);
    c.send(assistant('Hi, this is Example Corp.'));
    c.send(user('Where is my order?'));
    c.send(assistant('Your order is "shipped".'));
    // A transcript may differ from the script in case and punctuation.
    c.send(user('and can I still change the address'));
    c.send({ type: 'response.create' });
    expect(await answer(c)).toBe('Yes, until it ships tomorrow.');
    const info = sim.session(id);
    expect(info?.runId).toBe(runId);
    expect(info?.badInputs).toEqual([]);
    // Replayed lines were said in the lost session; this one said only its answer.
    expect(info?.said.map((l) => `${l.role}: ${l.text}`)).toEqual([
      'agent: Yes, until it ships tomorrow.',
    ]);
  });

  it('holds the response until the caller run tag binds the scenario, then answers that turn', async () => {
    const runId = book.register(scenario);
    const { c } = await session();
    c.send(user('Where is my order?'));
    c.send(assistant('Your order is "shipped".'));
    c.send(user('And can I still change the address?'));
    c.send({ type: 'response.create' });
    await new Promise((r) => setTimeout(r, 50));
    expect(c.ofType('response.created')).toHaveLength(0);
    // The caller repeats its run tag while quiet; the new session hears the next one.
    c.appendAudio(encodeMulaw(encodeTag({ kind: 'run', value: runId })));
    expect(await answer(c)).toBe('Yes, until it ships tomorrow.');
  });

  it('greets on an empty conversation and falls back when the agent spoke last', async () => {
    const { c } = await session(book.register(scenario));
    c.send({ type: 'response.create' });
    expect(await answer(c)).toBe('Hi, this is Example Corp.');
    c.send({ type: 'response.create' });
    expect(await answer(c)).toBe('Sorry, could you say that again?');
  });

  it('follows a replayed tool output with its turn, and later replayed turns with theirs', async () => {
    const { c, id } = await session(book.register(scenario));
    c.send(user('Where is my order?'));
    c.send({
      type: 'conversation.item.create',
      item: {
        type: 'function_call',
        call_id: 'call_replayed',
        name: 'lookup_order',
        arguments: '{"order_id":"42"}',
      },
    });
    c.send({
      type: 'conversation.item.create',
      item: { type: 'function_call_output', call_id: 'call_replayed', output: '"shipped"' },
    });
    c.send({ type: 'response.create' });
    expect(await answer(c)).toBe('Your order is "shipped".');
    // The replayed output is history, not a cue still waiting for its response.
    c.send(user('Thanks, bye.'));
    c.send({ type: 'response.create' });
    expect(await answer(c)).toBe('You are welcome, goodbye.');
    expect(sim.session(id)?.badInputs).toEqual([]);
  });
});
