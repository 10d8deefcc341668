/**
 * The bridge end to end: simulated Twilio rings our number, the gateway's webhook answers
 * <Connect><Stream> to this bridge, which talks to the simulated OpenAI Realtime API. Real NATS
 * and PostgreSQL.
 */
import { once } from 'node:events';

import Fastify, { type FastifyBaseLogger } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';

import { callControlRequest, request } from '@app/contracts';
import { signStreamToken } from '@app/platform';
import { captureLogs } from '@app/platform/testing';
import { parseScenario } from '@app/sim';

import { LiveCalls } from '../../src/domain/live-calls.js';
import { mediaStreamRoutes } from '../../src/routes/media-stream.js';
import { CALLER, OUR_NUMBER, SECRET, startHarness, waitFor, type Harness } from './harness.js';
import { openingHoursJson } from './scenarios.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness({ pacing: 'fast' });
});

afterAll(async () => {
  await h?.close();
});

const openingHours = parseScenario(openingHoursJson);

describe('call-bridge media streams', { timeout: 60_000 }, () => {
  it('bridges a call: greeting, caller turns and answers in order, transcripts published', async () => {
    const call = await h.sims.twilio.ringInbound({
      to: OUR_NUMBER,
      from: CALLER,
      scenario: openingHours,
    });
    const end = await call.ended;
    expect(end.status).toBe('completed');
    const callId = await h.callIdOf(call.callSid);
    const session = h.sims.openai.sessions().find((s) => s.scenario === 'opening-hours');
    expect(session).toBeDefined();
    expect(session?.badInputs).toEqual([]);
    expect(session?.config).toMatchObject({
      type: 'realtime',
      instructions: 'Be brief.',
      audio: {
        input: { format: { type: 'audio/pcmu' }, turn_detection: { type: 'server_vad' } },
        output: { format: { type: 'audio/pcmu' }, voice: 'marin' },
      },
    });
    expect(session?.said.map((l) => [l.role, l.text])).toEqual([
      ['agent', 'Hello, thanks for calling. How can I help?'],
      ['caller', 'What time do you open tomorrow?'],
      ['agent', 'We open at nine in the morning.'],
      ['caller', 'Great, thank you.'],
      ['agent', 'You are welcome, goodbye!'],
    ]);
    expect(call.recording.ofKind('protocol.error')).toEqual([]);
    const events = await waitFor(async () => {
      const list = await h.eventsOf(callId);
      return list.some((e) => e.type === 'call.ended') ? list : undefined;
    });
    const transcripts = events
      .filter((e) => e.type === 'call.transcript')
      .map((e) => [e.data.role, e.data.text, e.data.final]);
    expect(transcripts).toEqual([
      ['agent', 'Hello, thanks for calling. How can I help?', true],
      ['caller', 'What time do you open tomorrow?', true],
      ['agent', 'We open at nine in the morning.', true],
      ['caller', 'Great, thank you.', true],
      ['agent', 'You are welcome, goodbye!', true],
    ]);
    const types = events.map((e) => e.type);
    expect(types).toContain('call.answered');
    const ended = events.find((e) => e.type === 'call.ended');
    expect(ended?.data).toMatchObject({ reason: 'caller-hangup' });
    // Twilio's final status callback is recorded, and leaves the end to the bridge.
    expect(types).toContain('call.status');
    expect(h.calls.size).toBe(0);

    // The call record, as the projector wrote it.
    const row = await waitFor(async () => {
      const c = await h.prisma.call.findUnique({
        where: { id: callId },
        include: { transcriptTurns: { orderBy: { sequence: 'asc' } } },
      });
      return c?.endReason ? c : undefined;
    });
    expect(row).toMatchObject({
      status: 'completed',
      endReason: 'caller-hangup',
      direction: 'inbound',
      fromNumber: CALLER,
      toNumber: OUR_NUMBER,
      agentId: h.agentId,
      twilioCallSid: call.callSid,
    });
    expect(row.durationMs).toBe((ended?.data as { durationMs: number }).durationMs);
    expect(row.durationMs).toBeGreaterThan(0);
    expect(row.answeredAt!.getTime()).toBeLessThanOrEqual(row.endedAt!.getTime());
    // Set-up (voice webhook to session config) and first agent audio were measured.
    expect(row.setupMs).toBeGreaterThanOrEqual(0);
    expect(row.setupMs).toBeLessThan(5_000);
    expect(row.firstAudioMs).toBeGreaterThan(0);
    expect(row.transcriptTurns.map((t) => [t.sequence, t.role, t.text])).toEqual([
      [0, 'assistant', 'Hello, thanks for calling. How can I help?'],
      [1, 'user', 'What time do you open tomorrow?'],
      [2, 'assistant', 'We open at nine in the morning.'],
      [3, 'user', 'Great, thank you.'],
      [4, 'assistant', 'You are welcome, goodbye!'],
    ]);
    // The bridge's metrics saw the call.
    const metrics = await h.registry.getMetricsAsJSON();
    const forwarded = metrics.find((m) => m.name === 'call_bridge_media_frames_total');
    const byDirection = Object.fromEntries(
      (forwarded?.values ?? []).map((v) => [v.labels.direction, v.value]),
    );
    expect(byDirection['caller-to-openai']).toBeGreaterThan(0);
    expect(byDirection['openai-to-caller']).toBeGreaterThan(0);
    const setup = await h.metrics.callSetup.get();
    expect(setup.values.find((v) => v.metricName?.endsWith('_count'))?.value).toBeGreaterThan(0);
  });

  it('the agent waits for the caller when it is not set to greet first', async () => {
    await h.prisma.agent.update({ where: { id: h.agentId }, data: { greetFirst: false } });
    try {
      const call = await h.sims.twilio.ringInbound({
        to: OUR_NUMBER,
        from: CALLER,
        scenario: parseScenario({
          name: 'caller-first',
          caller: {
            steps: [
              { pauseMs: 1_500 },
              { say: 'Hello, is anyone there?' },
              { waitForAgent: { quietMs: 700, timeoutMs: 15_000 } },
              { hangup: true },
            ],
          },
          model: { greeting: 'You should not hear this.', turns: [{ say: 'Yes, hello!' }] },
        }),
      });
      await call.ended;
      const session = h.sims.openai.sessions().find((s) => s.scenario === 'caller-first');
      expect(session?.said.map((l) => [l.role, l.text])).toEqual([
        ['caller', 'Hello, is anyone there?'],
        ['agent', 'Yes, hello!'],
      ]);
    } finally {
      await h.prisma.agent.update({ where: { id: h.agentId }, data: { greetFirst: true } });
    }
  });

  it('no socket, timer or listener outlives its calls', async () => {
    /** Open TCP sockets in this process (both ends of every WebSocket, TLS or not). */
    const sockets = () =>
      process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;
    const baseline = sockets();
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, sockets())), 10);
    const placed = await Promise.all(
      [1, 2, 3].map((i) =>
        h.sims.twilio.ringInbound({
          to: OUR_NUMBER,
          from: CALLER,
          scenario: parseScenario({ ...openingHoursJson, name: `leak-check-${i}` }),
        }),
      ),
    );
    await Promise.all(placed.map((c) => c.ended));
    const callIds = await Promise.all(placed.map((c) => h.callIdOf(c.callSid)));
    await Promise.all(callIds.map((id) => h.endedEventsOf(id)));
    // Both WebSockets of every call are closed, on both ends.
    await waitFor(() => (h.calls.size === 0 ? true : undefined));
    clearInterval(sampler);
    // The measure saw the calls: each holds both ends of its media and its OpenAI WebSocket.
    expect(peak).toBeGreaterThanOrEqual(baseline + 8);
    await waitFor(() => (sockets() <= baseline ? true : undefined));
    const sessions = h.sims.openai.sessions().filter((s) => s.scenario?.startsWith('leak-check'));
    expect(sessions).toHaveLength(3);
    expect(sessions.every((s) => s.closed && s.sockets === 0)).toBe(true);
    // No heartbeat timer survives: a leaked one would write the owner entry back.
    await new Promise((r) => setTimeout(r, 1_000));
    for (const id of callIds) expect(await h.owners.get(id)).toBeNull();
    // No call-control subscription survives: nobody answers for these calls.
    for (const id of callIds) {
      await expect(
        request(h.ns.nc, h.names, 'call-control', callControlRequest(id, { action: 'hangup' }), {
          timeoutMs: 300,
        }),
      ).rejects.toThrow();
    }
    const gauge = (await h.registry.getMetricsAsJSON()).find(
      (m) => m.name === 'call_bridge_live_calls',
    );
    expect(gauge?.values[0]?.value).toBe(0);
  });

  it('owns a live call (call-owners, heartbeat), obeys call-control inject and hangup, releases both', async () => {
    const owners = h.owners;
    const call = await h.sims.twilio.ringInbound({
      to: OUR_NUMBER,
      from: CALLER,
      scenario: parseScenario({ name: 'long-line', caller: { steps: [{ pauseMs: 60_000 }] } }),
    });
    const callId = await h.callIdOf(call.callSid);
    const owner = await waitFor(async () => (await owners.get(callId)) ?? undefined);
    expect(owner).toMatchObject({ pod: 'bridge-test-0', transport: 'media-streams' });
    const firstRevision = (await owners.kv.get(callId))?.revision ?? 0;
    await waitFor(
      async () => ((await owners.kv.get(callId))?.revision ?? 0) > firstRevision || undefined,
    );

    const injected = await request(
      h.ns.nc,
      h.names,
      'call-control',
      callControlRequest(callId, { action: 'inject', text: 'Say goodbye politely.' }),
      { timeoutMs: 2_000 },
    );
    expect(injected.data).toEqual({ ok: true });
    const transfer = await request(
      h.ns.nc,
      h.names,
      'call-control',
      callControlRequest(callId, { action: 'transfer', target: '+15555550177', mode: 'cold' }),
      { timeoutMs: 2_000 },
    );
    expect(transfer.data).toMatchObject({ ok: false, error: { code: 'NOT_SUPPORTED' } });
    const hungUp = await request(
      h.ns.nc,
      h.names,
      'call-control',
      callControlRequest(callId, { action: 'hangup' }),
      { timeoutMs: 2_000 },
    );
    expect(hungUp.data).toEqual({ ok: true });

    await call.ended;
    const ended = await waitFor(async () =>
      (await h.eventsOf(callId)).find((e) => e.type === 'call.ended'),
    );
    expect(ended.data.reason).toBe('agent-hangup');
    await waitFor(async () => ((await owners.get(callId)) === null ? true : undefined));
    // Nobody answers for the call any more.
    await expect(
      request(h.ns.nc, h.names, 'call-control', callControlRequest(callId, { action: 'hangup' }), {
        timeoutMs: 500,
      }),
    ).rejects.toThrow();
  });

  it('refuses a stream whose token is wrong with 1008', async () => {
    const ws = new WebSocket(h.bridgeUrl);
    await once(ws, 'open');
    const closed = once(ws, 'close') as Promise<[number, Buffer]>;
    ws.send(JSON.stringify({ event: 'connected', protocol: 'Call', version: '1.0.0' }));
    ws.send('{not json');
    ws.send(JSON.stringify({ event: 'media', media: { payload: 'AAAA' } }));
    const token = signStreamToken({
      callId: 'another-call',
      agentId: h.agentId,
      secret: SECRET,
      ttlSec: 60,
    });
    ws.send(
      JSON.stringify({
        event: 'start',
        sequenceNumber: '1',
        streamSid: 'MZ1',
        start: {
          streamSid: 'MZ1',
          callSid: 'CA1',
          tracks: ['inbound'],
          customParameters: { callId: 'call-1', agentId: h.agentId, token },
          mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
        },
      }),
    );
    const [code, reason] = await closed;
    expect(code).toBe(1008);
    expect(String(reason)).toMatch(/another call/);
  });

  it('refuses a garbage token and a replayed token with 1008', async () => {
    const startWith = async (token: string, callId = 'call-replay') => {
      const ws = new WebSocket(h.bridgeUrl);
      await once(ws, 'open');
      const closed = once(ws, 'close') as Promise<[number, Buffer]>;
      ws.send(
        JSON.stringify({
          event: 'start',
          streamSid: 'MZ2',
          start: { streamSid: 'MZ2', customParameters: { callId, agentId: h.agentId, token } },
        }),
      );
      return { ws, closed };
    };
    const garbage = await startWith('v1.nope.nope');
    expect((await garbage.closed)[0]).toBe(1008);
    const token = signStreamToken({
      callId: 'call-replay',
      agentId: h.agentId,
      secret: SECRET,
      ttlSec: 60,
    });
    const first = await startWith(token);
    const replay = await startWith(token);
    const [code, reason] = await replay.closed;
    expect(code).toBe(1008);
    expect(String(reason)).toMatch(/already used/);
    first.ws.close();
    await first.closed;
    await waitFor(async () => (h.calls.size === 0 ? true : undefined));
  });

  it('at capacity closes with 1013, and without OpenAI configured with 1011', async () => {
    const startWith = async (url: string) => {
      const ws = new WebSocket(url);
      await once(ws, 'open');
      const closed = once(ws, 'close') as Promise<[number, Buffer]>;
      const token = signStreamToken({
        callId: 'call-full',
        agentId: h.agentId,
        secret: SECRET,
        ttlSec: 60,
      });
      ws.send(
        JSON.stringify({
          event: 'start',
          streamSid: 'MZ3',
          start: {
            streamSid: 'MZ3',
            customParameters: { callId: 'call-full', agentId: h.agentId, token },
          },
        }),
      );
      const [code, reason] = await closed;
      return { code, reason: String(reason) };
    };
    const fillers = Array.from({ length: h.calls.limit }, (_, i) => ({
      callId: `filler-${i}`,
      end: () => Promise.resolve(),
    }));
    for (const f of fillers) h.calls.tryAdd(f);
    try {
      expect(await startWith(h.bridgeUrl)).toEqual({ code: 1013, reason: 'try again later' });
    } finally {
      for (const f of fillers) h.calls.remove(f.callId);
    }

    const bare = Fastify({ loggerInstance: captureLogs().log as FastifyBaseLogger });
    await bare.register(mediaStreamRoutes, {
      calls: new LiveCalls(1),
      streamTokenSecret: SECRET,
      openRealtime: null,
      loadAgent: () => Promise.resolve(null),
      publish: () => Promise.resolve(),
    });
    const address = await bare.listen({ host: '127.0.0.1', port: 0 });
    try {
      const refused = await startWith(`${address.replace('http:', 'ws:')}/media`);
      expect(refused.code).toBe(1011);
      expect(refused.reason).toMatch(/OPENAI_API_KEY/);
    } finally {
      await bare.close();
    }
  });
});
