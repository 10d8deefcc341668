/**
 * The Media Streams protocol as the customer's bridge sees it: a real local WebSocket server
 * plays the bridge; the simulator's stream client is Twilio (twilio.md §4).
 */
import type { AddressInfo } from 'node:net';

import twilio from 'twilio';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';

import { FRAME_BYTES, speechDurationMs } from '../src/audio/index.js';
import type { CallRecording } from '../src/recording.js';
import { ScenarioBook } from '../src/scenario-book.js';
import { parseScenario, type ScenarioInput } from '../src/scenario.js';
import { startTwilioSim, type TwilioSimHandle } from '../src/twilio/index.js';
import { startWebhookReceiver, type WebhookReceiver } from '../src/twilio/testing.js';

const ACCOUNT = 'AC' + 'a'.repeat(32);
const TOKEN = 'tok';
const OURS = '+15550001111';
const CALLER = '+15557654321';

interface Bridge {
  url: string;
  messages: Array<Record<string, unknown> & { at: number }>;
  socket: Promise<WebSocket>;
  signature: Promise<string>;
  waitFor(
    match: (m: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown> & { at: number }>;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function startBridge(): Promise<Bridge> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((r) => wss.once('listening', r));
  cleanups.push(() => new Promise((r) => wss.close(() => r(undefined))));
  const messages: Bridge['messages'] = [];
  let resolveSocket: (ws: WebSocket) => void = () => undefined;
  let resolveSig: (s: string) => void = () => undefined;
  const socket = new Promise<WebSocket>((r) => (resolveSocket = r));
  const signature = new Promise<string>((r) => (resolveSig = r));
  const waiters: Array<() => void> = [];
  wss.on('connection', (ws, req) => {
    resolveSig(String(req.headers['x-twilio-signature']));
    ws.on('message', (data) => {
      messages.push({
        ...(JSON.parse(String(data)) as Record<string, unknown>),
        at: performance.now(),
      });
      for (const w of waiters.splice(0)) w();
    });
    resolveSocket(ws);
  });
  const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/media`;
  return {
    url,
    messages,
    socket,
    signature,
    async waitFor(match, timeoutMs = 4_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = messages.find(match);
        if (found) return found;
        if (Date.now() > deadline) throw new Error('bridge message not received');
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 20);
        });
      }
    },
  };
}

async function setup(opts: {
  pacing: 'fast' | 'realtime';
  steps: ScenarioInput['caller']['steps'];
  after?: string;
  /** Subscribe the number's status callback (`completed`) to the receiver's /status. */
  statusCallback?: boolean;
}) {
  const bridge = await startBridge();
  const rx: WebhookReceiver = await startWebhookReceiver();
  cleanups.push(() => rx.close());
  rx.on(
    '/voice',
    `<Response><Connect><Stream url="${bridge.url}"><Parameter name="tenant" value="acme"/></Stream></Connect>${opts.after ?? ''}</Response>`,
  );
  const sim: TwilioSimHandle = await startTwilioSim({
    accounts: [{ sid: ACCOUNT, authToken: TOKEN }],
    numbers: [
      {
        number: OURS,
        accountSid: ACCOUNT,
        voiceUrl: `${rx.url}/voice`,
        ...(opts.statusCallback ? { statusCallback: `${rx.url}/status` } : {}),
      },
    ],
    pacing: opts.pacing,
    scenarios: new ScenarioBook(),
  });
  cleanups.push(() => sim.close());
  const call = await sim.ringInbound({
    to: OURS,
    from: CALLER,
    scenario: parseScenario({ name: 't', caller: { steps: opts.steps } }),
  });
  return { bridge, rx, sim, call };
}

function media(ws: WebSocket, streamSid: string, bytes: number, fill = 0x10) {
  ws.send(
    JSON.stringify({
      event: 'media',
      streamSid,
      media: { payload: Buffer.alloc(bytes, fill).toString('base64') },
    }),
  );
}

function streamSidOf(bridge: Bridge): string {
  const start = bridge.messages.find((m) => m.event === 'start');
  return String(start?.streamSid);
}

function kinds(rec: CallRecording, kind: string) {
  return rec.ofKind(kind).map((e) => e.data);
}

describe('twilio-sim media stream', () => {
  it('twilio-sim - sends connected, start and 20 ms media frames, then stop at hang-up', async () => {
    const { bridge, call } = await setup({
      pacing: 'realtime',
      steps: [{ pauseMs: 400 }, { hangup: true }],
    });
    await call.ended;
    await bridge.waitFor((m) => m.event === 'stop');
    const [connected, start] = bridge.messages;
    expect(connected).toMatchObject({ event: 'connected', protocol: 'Call', version: '1.0.0' });
    expect(start).toMatchObject({
      event: 'start',
      sequenceNumber: '1',
      start: {
        accountSid: ACCOUNT,
        callSid: call.callSid,
        tracks: ['inbound'],
        customParameters: { tenant: 'acme' },
        mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
      },
    });
    const streamSid = String(start?.streamSid);
    expect(streamSid).toMatch(/^MZ[0-9a-f]{32}$/);
    expect((start?.start as { streamSid: string }).streamSid).toBe(streamSid);
    expect(twilio.validateRequest(TOKEN, await bridge.signature, bridge.url, {})).toBe(true);

    const seqs = bridge.messages.slice(1).map((m) => Number(m.sequenceNumber));
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    const frames = bridge.messages.filter((m) => m.event === 'media');
    expect(frames.length).toBeGreaterThanOrEqual(20);
    frames.forEach((m, i) => {
      const md = m.media as Record<string, string>;
      expect(md.track).toBe('inbound');
      expect(md.chunk).toBe(String(i + 1));
      expect(md.timestamp).toBe(String(i * 20));
      expect(Buffer.from(String(md.payload), 'base64')).toHaveLength(FRAME_BYTES);
      expect(m.streamSid).toBe(streamSid);
    });
    const gaps = frames
      .slice(1)
      .map((m, i) => m.at - (frames[i]?.at ?? 0))
      .sort((a, b) => a - b);
    const median = gaps[Math.floor(gaps.length / 2)] ?? 0;
    expect(median).toBeGreaterThan(15);
    expect(median).toBeLessThan(25);
    const stop = bridge.messages.at(-1);
    expect(stop).toMatchObject({
      event: 'stop',
      streamSid,
      stop: { accountSid: ACCOUNT, callSid: call.callSid },
    });
    expect(await call.ended).toMatchObject({ status: 'completed', reason: 'caller-hangup' });
  });

  it('twilio-sim - echoes a mark only after the audio before it has played', async () => {
    const { bridge, call } = await setup({ pacing: 'realtime', steps: [{ pauseMs: 3000 }] });
    const ws = await bridge.socket;
    await bridge.waitFor((m) => m.event === 'start');
    const sid = streamSidOf(bridge);
    const sentAt = performance.now();
    for (let i = 0; i < 10; i++) media(ws, sid, FRAME_BYTES);
    ws.send(JSON.stringify({ event: 'mark', streamSid: sid, mark: { name: 'utt-1' } }));
    const echo = await bridge.waitFor((m) => m.event === 'mark');
    expect(echo).toMatchObject({ event: 'mark', streamSid: sid, mark: { name: 'utt-1' } });
    expect(typeof echo.sequenceNumber).toBe('string');
    // 10 frames = 200 ms of audio must have played first.
    expect(echo.at - sentAt).toBeGreaterThanOrEqual(180);
    expect(call.recording.ofKind('caller.heard-start')).toHaveLength(1);
    expect(kinds(call.recording, 'received.mark')).toEqual([
      expect.objectContaining({ name: 'utt-1' }),
    ]);
    expect(kinds(call.recording, 'sent.mark-echo')).toEqual([{ name: 'utt-1', cleared: false }]);
  });

  it('twilio-sim - clear drops unplayed audio and echoes pending marks at once', async () => {
    const { bridge, call } = await setup({ pacing: 'realtime', steps: [{ pauseMs: 3000 }] });
    const ws = await bridge.socket;
    await bridge.waitFor((m) => m.event === 'start');
    const sid = streamSidOf(bridge);
    media(ws, sid, FRAME_BYTES * 50); // 1 s in one message
    ws.send(JSON.stringify({ event: 'mark', streamSid: sid, mark: { name: 'long' } }));
    await new Promise((r) => setTimeout(r, 100));
    const clearAt = performance.now();
    ws.send(JSON.stringify({ event: 'clear', streamSid: sid }));
    const echo = await bridge.waitFor((m) => m.event === 'mark');
    expect(echo.at - clearAt).toBeLessThan(100);
    const clear = call.recording.ofKind('received.clear')[0];
    expect(Number(clear?.data?.droppedMs)).toBeGreaterThan(500);
    expect(call.recording.ofKind('caller.cleared')).toHaveLength(1);
    expect(kinds(call.recording, 'sent.mark-echo')).toEqual([{ name: 'long', cleared: true }]);
  });

  it('twilio-sim - sends dtmf events for key presses', async () => {
    const { bridge, call } = await setup({
      pacing: 'fast',
      steps: [{ dtmf: '4#' }, { hangup: true }],
    });
    await call.ended;
    const dtmf = bridge.messages.filter((m) => m.event === 'dtmf');
    expect(dtmf.map((m) => m.dtmf)).toEqual([
      { track: 'inbound_track', digit: '4' },
      { track: 'inbound_track', digit: '#' },
    ]);
    expect(dtmf[0]?.streamSid).toBe(streamSidOf(bridge));
  });

  it('twilio-sim - records bad input from the bridge and keeps the stream up', async () => {
    const { bridge, call } = await setup({ pacing: 'fast', steps: [{ pauseMs: 20_000 }] });
    const ws = await bridge.socket;
    await bridge.waitFor((m) => m.event === 'start');
    const sid = streamSidOf(bridge);
    ws.send(Buffer.alloc(160), { binary: true });
    ws.send('{not json');
    ws.send(JSON.stringify({ event: 'speak', streamSid: sid }));
    ws.send(JSON.stringify({ event: 'clear', streamSid: 'MZ' + '0'.repeat(32) }));
    ws.send(
      JSON.stringify({ event: 'media', streamSid: sid, media: { payload: '!!not base64!!' } }),
    );
    ws.send(JSON.stringify({ event: 'mark', streamSid: sid, mark: {} }));
    media(ws, sid, 100);
    ws.send(JSON.stringify({ event: 'mark', streamSid: sid, mark: { name: 'after-bad' } }));
    await bridge.waitFor((m) => m.event === 'mark');
    const errors = kinds(call.recording, 'protocol.error').map((d) => [d?.code, d?.reason]);
    expect(errors).toEqual([
      [31950, 'binary-frame'],
      [31951, 'malformed-json'],
      [31951, 'unknown-event'],
      [31951, 'wrong-stream-sid'],
      [31951, 'bad-base64'],
      [31951, 'mark-without-name'],
      [null, 'payload-not-whole-frames'],
    ]);
  });

  it('twilio-sim - a call update ends the stream with stop and runs the new TwiML', async () => {
    const { bridge, call, sim } = await setup({ pacing: 'fast', steps: [{ pauseMs: 20_000 }] });
    await bridge.waitFor((m) => m.event === 'start');
    const client = twilio(ACCOUNT, TOKEN);
    client.api.baseUrl = sim.url;
    await client
      .calls(call.callSid)
      .update({ twiml: '<Response><Say>Bye</Say><Hangup/></Response>' });
    await bridge.waitFor((m) => m.event === 'stop');
    expect(await call.ended).toMatchObject({ status: 'completed', reason: 'twiml-hangup' });
    expect(kinds(call.recording, 'twiml.say')[0]).toMatchObject({ text: 'Bye' });
    expect(kinds(call.recording, 'sent.stop')[0]).toMatchObject({ reason: 'call-updated' });
    expect(call.recording.ofKind('caller.call-ended')).toHaveLength(1);
  });

  it('twilio-sim - an apology update stops and closes the stream, says it, then completes with a callback', async () => {
    const { bridge, call, sim, rx } = await setup({
      pacing: 'fast',
      steps: [{ pauseMs: 20_000 }],
      statusCallback: true,
    });
    const ws = await bridge.socket;
    const closed = new Promise<{ code: number; reason: string }>((resolve) =>
      ws.on('close', (code, reason) => resolve({ code, reason: String(reason) })),
    );
    await bridge.waitFor((m) => m.event === 'start');
    const apology = 'We are sorry, we are having technical trouble. Please call again later.';
    const client = twilio(ACCOUNT, TOKEN);
    client.api.baseUrl = sim.url;
    // What a bridge does when the provider cannot be recovered (twilio.md §5.3).
    const updated = await client
      .calls(call.callSid)
      .update({ twiml: `<Response><Say>${apology}</Say><Hangup/></Response>` });
    expect(updated.status).toBe('in-progress');

    // Twilio ends the stream: `stop` as the last message, then it closes the socket itself.
    expect(await closed).toEqual({ code: 1000, reason: 'call-updated' });
    expect(bridge.messages.at(-1)).toMatchObject({
      event: 'stop',
      stop: { callSid: call.callSid },
    });
    expect(await call.ended).toEqual({ status: 'completed', reason: 'twiml-hangup' });
    const callback = await rx.waitFor((r) => r.path === '/status');
    expect(callback.params).toMatchObject({
      CallSid: call.callSid,
      CallStatus: 'completed',
      CallbackSource: 'call-progress-events',
    });
    expect(Number(callback.params.CallDuration)).toBeGreaterThanOrEqual(0);

    const entries = call.recording.entries;
    const at = (kind: string) => entries.findIndex((e) => e.kind === kind);
    const order = ['call.updated', 'sent.stop', 'twiml.say', 'twiml.hangup', 'call.ended'];
    expect(order.map(at)).toEqual(order.map(at).sort((a, b) => a - b));
    expect(order.map(at)).not.toContain(-1);
    const say = entries[at('twiml.say')];
    expect(say?.data).toMatchObject({ text: apology });
    expect(entries[at('call.ended')]?.data).toMatchObject({ status: 'completed' });
    // The caller was on the line for the whole apology (fast pacing: a tenth of real time).
    const heardMs = (entries[at('call.ended')]?.atMs ?? 0) - (say?.atMs ?? 0);
    expect(heardMs).toBeGreaterThanOrEqual(speechDurationMs(apology) * 0.1 * 0.9);
    // Recorded once the receiver has answered.
    await vi.waitFor(() =>
      expect(kinds(call.recording, 'webhook.status-callback')).toEqual([
        expect.objectContaining({ event: 'completed', callStatus: 'completed', httpStatus: 200 }),
      ]),
    );
  });

  it('twilio-sim - the caller can still hang up while the TwiML that replaced the stream runs', async () => {
    const { bridge, call, sim } = await setup({
      pacing: 'fast',
      steps: [{ pauseMs: 3_000 }, { hangup: true }],
    });
    await bridge.waitFor((m) => m.event === 'start');
    const client = twilio(ACCOUNT, TOKEN);
    client.api.baseUrl = sim.url;
    const long = 'Please hold on. '.repeat(20);
    await client
      .calls(call.callSid)
      .update({ twiml: `<Response><Say>${long}</Say><Hangup/></Response>` });
    expect(await call.ended).toEqual({ status: 'completed', reason: 'caller-hangup' });
    expect(call.recording.ofKind('twiml.say')).toHaveLength(1);
    expect(call.recording.ofKind('twiml.hangup')).toHaveLength(0);
  });

  it('twilio-sim - goes on with the next verb when the bridge closes the socket', async () => {
    const { bridge, call } = await setup({
      pacing: 'fast',
      steps: [{ pauseMs: 20_000 }],
      after: '<Say>After stream</Say>',
    });
    const ws = await bridge.socket;
    await bridge.waitFor((m) => m.event === 'start');
    ws.close(1000, 'done');
    expect(await call.ended).toMatchObject({ status: 'completed', reason: 'twiml-end' });
    expect(kinds(call.recording, 'stream.closed')[0]).toMatchObject({ by: 'server', code: 1000 });
    expect(kinds(call.recording, 'twiml.say')[0]).toMatchObject({ text: 'After stream' });
  });
});
