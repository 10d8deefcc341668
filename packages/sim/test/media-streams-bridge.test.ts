/**
 * Both simulators with a small bridge between them (test/mini-bridge.ts), the way the
 * product's call-bridge sits: what a bridge's provider-fault tests rely on. The caller's
 * scenario runs over Twilio Media Streams; the bridge talks to the OpenAI simulator.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { FRAME_MS } from '../src/audio/index.js';
import { SIM_DEFAULTS } from '../src/defaults.js';
import { parseScenario, type ScenarioInput } from '../src/scenario.js';
import { startSimulators, type Simulators } from '../src/simulators.js';
import { startWebhookReceiver, type WebhookReceiver } from '../src/twilio/testing.js';
import { startMiniBridge, type MiniBridge, type MiniBridgeOptions } from './mini-bridge.js';

/** A phone bridge's session: μ-law both ways, server VAD that answers and barges in. */
const SESSION = {
  type: 'realtime',
  audio: {
    input: {
      format: { type: 'audio/pcmu' },
      transcription: { model: 'gpt-4o-mini-transcribe' },
      turn_detection: {
        type: 'server_vad',
        silence_duration_ms: 500,
        create_response: true,
        interrupt_response: true,
      },
    },
    output: { format: { type: 'audio/pcmu' }, voice: 'marin' },
  },
};

let sims: Simulators;
let rx: WebhookReceiver;
let bridge: MiniBridge | undefined;

beforeAll(async () => {
  rx = await startWebhookReceiver();
  sims = await startSimulators({ pacing: 'fast', voiceUrl: `${rx.url}/voice` });
});
afterEach(async () => {
  await bridge?.close();
  bridge = undefined;
});
afterAll(async () => {
  await sims?.close();
  await rx?.close();
});

/** Starts the bridge, points the Media Streams number at it and places the scenario call. */
async function call(scenario: ScenarioInput, onEvent?: MiniBridgeOptions['onEvent']) {
  bridge = await startMiniBridge({
    openaiWsUrl: sims.openaiWsUrl,
    apiKey: sims.credentials.openai.apiKey,
    session: SESSION,
    ...(onEvent ? { onEvent } : {}),
  });
  rx.on('/voice', `<Response><Connect><Stream url="${bridge.url}"/></Connect></Response>`);
  const placed = await sims.twilio.ringInbound({
    to: SIM_DEFAULTS.numbers.mediaStreams,
    from: SIM_DEFAULTS.numbers.caller,
    scenario: parseScenario(scenario),
  });
  return { ...placed, bridge };
}

function session(id: string | undefined) {
  const info = id === undefined ? undefined : sims.openai.session(id);
  if (!info) throw new Error(`no OpenAI session ${String(id)}`);
  return info;
}

describe('sim - a Media Streams bridge between both simulators', { timeout: 20_000 }, () => {
  it('a bridge that reconnects mid-call gets the scenario answers that are due from the new session', async () => {
    let firstSession: string | undefined;
    let answers = 0;
    const { ended, recording, callSid, bridge } = await call(
      {
        name: 'reconnect',
        caller: {
          steps: [
            { waitForAgent: { quietMs: 1_000 } },
            { say: 'I would like to book a table.', durationMs: 1_000 },
            { waitForAgent: { quietMs: 1_500 } },
            { say: 'For two people at eight tonight.', durationMs: 1_000 },
            // Long enough for the bridge to reconnect and the new session to answer.
            { waitForAgent: { quietMs: 4_000 } },
            { say: 'Perfect, thank you.', durationMs: 800 },
            { waitForAgent: { quietMs: 1_000 } },
            { hangup: true },
          ],
        },
        model: {
          greeting: "Good evening, Luigi's.",
          turns: [
            { say: 'Of course. For how many people?' },
            { say: 'Two at eight tonight is booked.' },
            { say: 'You are welcome, goodbye.' },
          ],
        },
      },
      (sessionId, e) => {
        firstSession ??= sessionId;
        // Once the first caller turn is answered, the next response drops the socket mid-way.
        if (e.type === 'response.done' && sessionId === firstSession && ++answers === 2) {
          sims.openai.faults.setFor(sessionId, { dropSocketAfterAudioDeltas: 3 });
        }
      },
    );
    expect(await ended).toMatchObject({ status: 'completed', reason: 'caller-hangup' });

    expect(bridge.sessionIds).toHaveLength(2);
    const [lost, fresh] = bridge.sessionIds.map(session);
    expect(bridge.replays).toEqual([
      {
        items: [
          { role: 'assistant', text: "Good evening, Luigi's." },
          { role: 'user', text: 'I would like to book a table.' },
          { role: 'assistant', text: 'Of course. For how many people?' },
          { role: 'user', text: 'For two people at eight tonight.' },
        ],
        responseCreate: true,
      },
    ]);
    // The new session bound the same run from the caller's repeated tag, answered the cut turn
    // from the replay, and mapped the caller's next turn tag to the right scenario turn.
    expect(fresh?.runId).toBe(lost?.runId);
    expect(fresh?.said.map((l) => `${l.role}: ${l.text}`)).toEqual([
      'agent: Two at eight tonight is booked.',
      'caller: Perfect, thank you.',
      'agent: You are welcome, goodbye.',
    ]);
    expect(lost?.badInputs).toEqual([]);
    expect(fresh?.badInputs).toEqual([]);
    expect(recording.ofKind('caller.tag').some((e) => e.data?.repeat === true)).toBe(true);
    // The control API shows the whole call across both sessions.
    expect(sims.control.describeCall(callSid)?.conversation?.at(-1)?.text).toBe(
      'You are welcome, goodbye.',
    );
  });

  it('stamps both sides on one clock: speech_started goes out before the caller gets clear', async () => {
    const { ended, recording, bridge } = await call({
      name: 'barge-in timing',
      caller: {
        steps: [
          { bargeIn: { afterAgentAudioMs: 600, say: 'Sorry, a quick question.', durationMs: 800 } },
          { waitForAgent: { quietMs: 1_000 } },
          { hangup: true },
        ],
      },
      model: {
        greeting:
          "Good evening and thank you for calling Luigi's, the best Italian restaurant in town.",
        turns: [{ say: 'Of course, go ahead.' }],
      },
    });
    await ended;
    const sent = session(bridge.sessionIds[0]).sent;
    expect(sent[0]?.type).toBe('session.created');
    // Types, times and items only: no payloads kept.
    const fields = new Set(sent.flatMap((e) => Object.keys(e)));
    expect([...fields].sort()).toEqual(['atEpochMs', 'itemId', 'type']);
    expect(sent.every((e, i) => i === 0 || e.atEpochMs >= (sent[i - 1]?.atEpochMs ?? 0))).toBe(
      true,
    );
    const started = sent.find((e) => e.type === 'input_audio_buffer.speech_started');
    const clear = recording.ofKind('received.clear')[0];
    expect(started?.itemId).toMatch(/^item_/);
    expect(clear).toBeDefined();
    const gapMs = (clear?.atEpochMs ?? 0) - (started?.atEpochMs ?? 0);
    expect(gapMs).toBeGreaterThanOrEqual(0);
    // What a bridge's barge-in test asserts: clear reached the caller within one frame.
    expect(gapMs).toBeLessThan(FRAME_MS);
    // The caller's entries carry both clocks, a fixed offset apart (atMs has 0.1 ms steps).
    const offsets = recording.entries.map((e) => e.atEpochMs - e.atMs);
    expect(Math.max(...offsets) - Math.min(...offsets)).toBeLessThan(0.2);
  });
});
