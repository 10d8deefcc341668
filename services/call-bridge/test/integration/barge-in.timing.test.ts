/**
 * Barge-in at real-time pacing (20 ms frames every 20 ms), measured from both simulators' clocks:
 * Twilio `clear` reaches the caller within one frame period of OpenAI sending `speech_started`,
 * and the truncation point matches what the caller's recording shows was played, within one frame.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { parseScenario } from '@app/sim';

import { CALLER, OUR_NUMBER, startHarness, waitFor, type Harness } from './harness.js';

const FRAME_MS = 20;
let h: Harness;

beforeAll(async () => {
  h = await startHarness({ pacing: 'realtime' });
});

afterAll(async () => {
  await h?.close();
});

const LONG_ANSWER =
  'We are open Monday to Friday from eight in the morning until ten at night, on Saturday from nine until eleven, and on Sunday from ten until nine.';

describe('call-bridge - barge-in', { timeout: 60_000 }, () => {
  it('clears the caller within one frame of speech_started and truncates at what was heard, within one frame', async () => {
    const call = await h.sims.twilio.ringInbound({
      to: OUR_NUMBER,
      from: CALLER,
      scenario: parseScenario({
        name: 'interrupting-caller',
        caller: {
          steps: [
            { waitForAgent: { quietMs: 700, timeoutMs: 10_000 } },
            { say: 'What are your opening hours?' },
            { bargeIn: { afterAgentAudioMs: 1_500, say: 'Sorry, just Sunday please.' } },
            { waitForAgent: { quietMs: 700, timeoutMs: 10_000 } },
            { hangup: true },
          ],
        },
        model: {
          greeting: 'Hello, how can I help?',
          turns: [{ say: LONG_ANSWER }, { say: 'On Sunday from ten until nine.' }],
        },
      }),
    });
    await call.ended;
    const callId = await h.callIdOf(call.callSid);
    const events = await h.endedEventsOf(callId);
    const session = await waitFor(() =>
      h.sims.openai.sessions().find((s) => s.scenario === 'interrupting-caller'),
    );
    expect(session.badInputs).toEqual([]);
    expect(events.filter((e) => e.type === 'call.error')).toEqual([]);

    const answer = session.said.find((l) => l.role === 'agent' && l.text.startsWith('We are open'));
    const bargeIn = events.find((e) => e.type === 'call.barge-in');
    expect(bargeIn?.data.itemId).toBe(answer?.itemId);

    // Reaction: the server's speech_started (OpenAI simulator clock) to the clear arriving at
    // the caller (Twilio simulator clock); both are this process's clock.
    const started = session.sent.find(
      (e) =>
        e.type === 'input_audio_buffer.speech_started' &&
        e.atEpochMs > (call.recording.ofKind('caller.barge-in')[0]?.atEpochMs ?? Infinity),
    );
    const cleared = call.recording.ofKind('received.clear')[0];
    expect(started).toBeDefined();
    expect(cleared).toBeDefined();
    const reactionMs = cleared!.atEpochMs - started!.atEpochMs;
    expect(reactionMs).toBeGreaterThanOrEqual(0);
    expect(reactionMs).toBeLessThan(FRAME_MS);

    // Truncation: what the caller's recording shows it heard of the answer, against the
    // audio_end_ms the bridge sent.
    const entries = call.recording.entries;
    const asked = entries.findIndex((e) => e.kind === 'caller.said');
    const cue = entries.findIndex((e) => e.kind === 'caller.barge-in');
    const answerStart = entries.find((e, i) => i > asked && e.kind === 'caller.heard-start');
    const clearedAt = entries.find((e, i) => i > cue && e.kind === 'caller.cleared');
    // The caller's position in the frame playing when the clear arrived, not the whole frame.
    const heard = Number(clearedAt?.data?.playedMs) - Number(answerStart?.data?.heardMs);
    expect(heard).toBeGreaterThan(1_000);
    const audioEndMs = Number(bargeIn?.data.audioEndMs);
    expect(Math.abs(audioEndMs - heard)).toBeLessThanOrEqual(FRAME_MS);
    // The model's side agrees: the truncated item is as long as the bridge said.
    const truncated = session.sent.find(
      (e) => e.type === 'conversation.item.truncated' && e.itemId === answer?.itemId,
    );
    expect(truncated).toBeDefined();
    expect(call.recording.ofKind('protocol.error')).toEqual([]);
    // The caller was answered after the interruption.
    expect(session.said.at(-1)?.text).toBe('On Sunday from ten until nine.');
  });
});
