/**
 * Conformance with the official `openai` SDK as the client. How the SDK reaches the simulator:
 * - REST: `new OpenAI({ apiKey, baseURL: `${sim.httpUrl}/v1` })` (plain http works for REST).
 * - Realtime: the SDK always builds a `wss:` URL (openai-realtime.md §7.4). Either give it a
 *   client whose baseURL is the TLS origin (`${sim.httpsUrl}/v1` → `wss://host:tlsPort/v1/realtime`)
 *   or keep the http client and pass `buildRealtimeURL` returning `sim.wssUrl` + query (the SDK
 *   then adds no query itself). TLS trust: `options: { ca: sim.tlsCertPem }`, which the SDK
 *   forwards to the `ws` constructor (NODE_EXTRA_CA_CERTS is read only at process start).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import OpenAI, {
  AuthenticationError,
  BadRequestError,
  InvalidWebhookSignatureError,
  NotFoundError,
  RateLimitError,
} from 'openai';
import { OpenAIRealtimeWS } from 'openai/realtime/ws';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { startOpenAISim, type OpenAISim } from '../src/openai/index.js';
import { taggedUtterance } from '../src/openai/testing.js';
import { CallRecording } from '../src/recording.js';
import { ScenarioBook } from '../src/scenario-book.js';
import { parseScenario } from '../src/scenario.js';

const KEY = 'sk-conformance';
const SECRET = `whsec_${Buffer.from('conformance-secret-32-bytes-long').toString('base64')}`;

let sim: OpenAISim;
let book: ScenarioBook;
let client: OpenAI;
let hook: Server;
let hooks: Array<{ body: string; headers: Record<string, string> }>;
const sockets: OpenAIRealtimeWS[] = [];

type AnyEvent = { type: string; [k: string]: unknown };

/** Collects events of an SDK socket and waits for the next of a type. */
function collector(rt: OpenAIRealtimeWS) {
  const events: AnyEvent[] = [];
  const errors: Array<{ code?: string | null; param?: string | null; event_id?: string | null }> =
    [];
  const taken = new Set<AnyEvent>();
  rt.on('event', (e) => events.push(e as unknown as AnyEvent));
  rt.on('error', (err) => errors.push(err.error ?? {}));
  const waitFor = async (type: string, timeoutMs = 4_000): Promise<AnyEvent> => {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const hit = events.find((e) => e.type === type && !taken.has(e));
      if (hit) {
        taken.add(hit);
        return hit;
      }
      if (performance.now() > deadline)
        throw new Error(`no ${type}; got ${events.map((e) => e.type).join(',')}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  return { events, errors, waitFor };
}

function open(rt: OpenAIRealtimeWS): Promise<void> {
  sockets.push(rt);
  return new Promise((resolve, reject) => {
    rt.socket.once('open', () => resolve());
    rt.socket.once('error', reject);
  });
}

beforeEach(async () => {
  hooks = [];
  hook = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      hooks.push({ body, headers: req.headers as Record<string, string> });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  book = new ScenarioBook();
  sim = await startOpenAISim({
    apiKeys: [KEY],
    scenarios: book,
    pacing: 'fast',
    acceptDeadlineMs: 3_000,
    webhook: { url: `http://127.0.0.1:${(hook.address() as AddressInfo).port}/`, secret: SECRET },
  });
  client = new OpenAI({ apiKey: KEY, baseURL: `${sim.httpUrl}/v1`, maxRetries: 0 });
});

afterEach(async () => {
  for (const rt of sockets.splice(0)) rt.close();
  await sim.close();
  await new Promise<void>((r) => hook.close(() => r()));
});

describe('openai-sim conformance: realtime WebSocket through OpenAIRealtimeWS', () => {
  it('derives wss://host:tlsPort/v1/realtime from an https baseURL and trusts the generated cert', async () => {
    const tlsClient = new OpenAI({ apiKey: KEY, baseURL: `${sim.httpsUrl}/v1` });
    const rt = new OpenAIRealtimeWS(
      { model: 'gpt-realtime', options: { ca: sim.tlsCertPem } },
      tlsClient,
    );
    expect(rt.url.toString()).toBe(`${sim.wssUrl}?model=gpt-realtime`);
    const ev = collector(rt);
    await open(rt);
    const created = await ev.waitFor('session.created');
    expect(created.session).toMatchObject({ type: 'realtime', model: 'gpt-realtime' });
  });

  it('runs a scenario turn: VAD, transcription, function call round trip, audio reply', async () => {
    const scenario = parseScenario({
      name: 'conformance',
      caller: { steps: [{ say: 'What is the weather?' }] },
      model: {
        turns: [
          {
            toolCall: { name: 'get_weather', arguments: { city: 'Paris' } },
            sayAfterTool: 'It is {output} in Paris.',
          },
        ],
      },
    });
    const runId = book.register(scenario);
    const rt = new OpenAIRealtimeWS(
      {
        model: 'gpt-realtime',
        buildRealtimeURL: () => new URL(`${sim.wssUrl}?model=gpt-realtime`),
        options: { ca: sim.tlsCertPem },
      },
      client,
    );
    const ev = collector(rt);
    await open(rt);
    await ev.waitFor('session.created');
    rt.send({
      type: 'session.update',
      session: {
        type: 'realtime',
        audio: {
          input: {
            format: { type: 'audio/pcmu' },
            transcription: { model: 'gpt-4o-mini-transcribe' },
            turn_detection: { type: 'server_vad', silence_duration_ms: 500, create_response: true },
          },
          output: { format: { type: 'audio/pcmu' }, voice: 'marin' },
        },
        tools: [
          { type: 'function', name: 'get_weather', parameters: { type: 'object', properties: {} } },
        ],
      },
    });
    await ev.waitFor('session.updated');
    // An invalid update surfaces through the SDK's 'error' listener with the API's fields.
    rt.send({
      type: 'session.update',
      event_id: 'bad_1',
      session: { type: 'realtime', voice: 'alloy' } as never,
    });
    await ev.waitFor('error');
    expect(ev.errors[0]).toMatchObject({
      code: 'unknown_parameter',
      param: 'session.voice',
      event_id: 'bad_1',
    });

    const audio = taggedUtterance({ runId, turn: 0, text: 'What is the weather?' });
    for (let i = 0; i < audio.length; i += 1_600) {
      rt.send({
        type: 'input_audio_buffer.append',
        audio: audio.subarray(i, i + 1_600).toString('base64'),
      });
    }
    await ev.waitFor('input_audio_buffer.speech_started');
    await ev.waitFor('input_audio_buffer.committed');
    const tr = await ev.waitFor('conversation.item.input_audio_transcription.completed');
    expect(tr.transcript).toBe('What is the weather?');
    const call = await ev.waitFor('response.function_call_arguments.done');
    expect(call).toMatchObject({ name: 'get_weather', arguments: '{"city":"Paris"}' });
    await ev.waitFor('response.done');
    rt.send({
      type: 'conversation.item.create',
      item: { type: 'function_call_output', call_id: call.call_id as string, output: 'sunny' },
    });
    rt.send({ type: 'response.create' });
    const said = await ev.waitFor('response.output_audio_transcript.done');
    expect(said.transcript).toBe('It is sunny in Paris.');
    await ev.waitFor('response.output_audio.delta');
    const done = await ev.waitFor('response.done');
    expect(done.response).toMatchObject({
      status: 'completed',
      usage: { total_tokens: expect.any(Number) },
    });
  });
});

describe('openai-sim conformance: calls and webhooks through the SDK', () => {
  const offer = () => ({
    callSid: 'CAconformance',
    from: '+15550001111',
    to: '+15550002222',
    headers: {},
    recording: new CallRecording(),
  });

  async function ringing() {
    const before = hooks.length;
    const pending = sim.sipTrunk.incomingCall(offer());
    for (let i = 0; i < 200 && hooks.length === before; i += 1)
      await new Promise((r) => setTimeout(r, 5));
    const wh = hooks.at(-1) as { body: string; headers: Record<string, string> };
    const event = await client.webhooks.unwrap(wh.body, wh.headers, SECRET);
    if (event.type !== 'realtime.call.incoming') throw new Error(`unexpected ${event.type}`);
    return { pending, callId: event.data.call_id, wh };
  }

  it('verifies the webhook with client.webhooks.unwrap and rejects tampering', async () => {
    const { pending, callId, wh } = await ringing();
    expect(callId).toMatch(/^rtc_/);
    await expect(
      client.webhooks.unwrap(wh.body.replace('rtc_', 'rtc_x'), wh.headers, SECRET),
    ).rejects.toBeInstanceOf(InvalidWebhookSignatureError);
    const wrong = `whsec_${Buffer.from('another-secret-another-secret-!!').toString('base64')}`;
    await expect(client.webhooks.unwrap(wh.body, wh.headers, wrong)).rejects.toBeInstanceOf(
      InvalidWebhookSignatureError,
    );
    const stale = {
      ...wh.headers,
      'webhook-timestamp': String(Math.floor(Date.now() / 1_000) - 3_600),
    };
    await expect(client.webhooks.unwrap(wh.body, stale, SECRET)).rejects.toThrow(/too old/);
    await client.realtime.calls.reject(callId, { status_code: 486 });
    expect(await pending).toMatchObject({ outcome: 'rejected', sipStatus: 486 });
  });

  it('accepts, refers and hangs up with client.realtime.calls', async () => {
    const a = await ringing();
    await client.realtime.calls.accept(a.callId, {
      type: 'realtime',
      model: 'gpt-realtime',
      instructions: 'Be brief.',
    });
    expect((await a.pending).outcome).toBe('accepted');
    // Sideband over the SDK's callID option.
    const rt = new OpenAIRealtimeWS(
      {
        callID: a.callId,
        buildRealtimeURL: () => new URL(`${sim.wssUrl}?call_id=${a.callId}`),
        options: { ca: sim.tlsCertPem },
      },
      client,
    );
    const ev = collector(rt);
    await open(rt);
    expect((await ev.waitFor('session.created')).session).toMatchObject({
      instructions: 'Be brief.',
    });
    await client.realtime.calls.refer(a.callId, { target_uri: 'tel:+14155550123' });
    expect(await (await a.pending).ended).toEqual({ reason: 'referred' });

    const b = await ringing();
    await client.realtime.calls.accept(b.callId, { type: 'realtime', model: 'gpt-realtime' });
    await client.realtime.calls.hangup(b.callId);
    expect(await (await b.pending).ended).toEqual({ reason: 'hangup' });
  });

  it('surfaces REST failures as the SDK error classes', async () => {
    await expect(client.realtime.calls.hangup('rtc_missing')).rejects.toBeInstanceOf(NotFoundError);
    const bad = new OpenAI({ apiKey: 'sk-wrong', baseURL: `${sim.httpUrl}/v1`, maxRetries: 0 });
    await expect(bad.realtime.calls.hangup('rtc_missing')).rejects.toBeInstanceOf(
      AuthenticationError,
    );
    await expect(
      client.realtime.calls.accept('rtc_missing', { model: 'gpt-realtime' } as never),
    ).rejects.toBeInstanceOf(BadRequestError);
    sim.faults.set({ restRateLimits: 1 });
    const err = await client.realtime.calls.hangup('rtc_missing').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RateLimitError);
    expect((err as RateLimitError).status).toBe(429);
  });
});
