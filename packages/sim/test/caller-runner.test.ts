import { describe, expect, it } from 'vitest';

import {
  decodeMulaw,
  EnergyVad,
  FRAME_BYTES,
  FRAME_MS,
  silenceFrame,
  TagDetector,
  type Tag,
} from '../src/audio/index.js';
import { startCaller, type CallerTransport } from '../src/caller/runner.js';
import { epochNowMs } from '../src/clock.js';
import { CallRecording } from '../src/recording.js';
import { parseScenario } from '../src/scenario.js';

/** A transport that keeps what the caller sent and decodes its in-band tags. */
function recordingTransport() {
  const frames: Buffer[] = [];
  const dtmf: string[] = [];
  const tags: Tag[] = [];
  const detector = new TagDetector();
  let hangups = 0;
  const transport: CallerTransport = {
    sendAudio(frame) {
      frames.push(frame);
      tags.push(...detector.push(decodeMulaw(frame)));
    },
    sendDtmf(digit) {
      dtmf.push(digit);
    },
    hangup() {
      hangups += 1;
    },
  };
  return { transport, frames, dtmf, tags, hangups: () => hangups };
}

describe('sim caller runner', () => {
  it('plays a scenario: tags, speech, waits for the agent, barges in, presses keys, hangs up', async () => {
    const scenario = parseScenario({
      name: 'book',
      caller: {
        steps: [
          { say: 'hello I want to book', durationMs: 600 },
          { waitForAgent: { quietMs: 100, timeoutMs: 3_000 } },
          { bargeIn: { afterAgentAudioMs: 200, say: 'no wait', durationMs: 400 } },
          { dtmf: '12' },
          { hangup: true },
        ],
      },
    });
    const t = recordingTransport();
    const recording = new CallRecording();
    const caller = startCaller({
      scenario,
      runId: 42,
      transport: t.transport,
      recording,
      pacing: 'fast',
    });

    // The "agent" answers each finished utterance with 300 ms (15 frames) of audio.
    let owed = 0;
    let answered = 0;
    const agent = setInterval(() => {
      const said = recording.ofKind('caller.said').length;
      if (said > answered) {
        answered = said;
        owed += 15;
      }
      if (owed > 0) {
        owed -= 1;
        caller.heard(silenceFrame());
      }
    }, 1);
    const { reason } = await caller.done;
    clearInterval(agent);

    expect(reason).toBe('caller-hangup');
    expect(t.hangups()).toBe(1);
    expect(t.tags[0]).toEqual({ kind: 'run', value: 42 });
    expect(t.tags.filter((tag) => tag.kind === 'turn')).toEqual([
      { kind: 'turn', value: 0 },
      { kind: 'turn', value: 1 },
    ]);
    // The run tag also repeats in the quiet while the caller waits (tested below).
    expect(new Set(t.tags.filter((tag) => tag.kind === 'run').map((tag) => tag.value))).toEqual(
      new Set([42]),
    );
    expect(t.dtmf).toEqual(['1', '2']);
    expect(t.frames.every((f) => f.length === FRAME_BYTES)).toBe(true);
    const kinds = recording.entries.map((e) => e.kind).filter((k) => k.startsWith('caller.'));
    expect(kinds.indexOf('caller.say')).toBeLessThan(kinds.indexOf('caller.waited'));
    expect(recording.ofKind('caller.waited')[0]?.data).toMatchObject({ heardAgent: true });
    expect(recording.ofKind('caller.barge-in')[0]?.data).toMatchObject({ onCue: true });
    expect(recording.ofKind('caller.say').map((e) => e.data?.text)).toEqual([
      'hello I want to book',
      'no wait',
    ]);
  });

  it('repeats its run tag about every second of quiet, too quiet for the VAD', async () => {
    const scenario = parseScenario({ name: 'quiet', caller: { steps: [{ pauseMs: 3_500 }] } });
    const t = recordingTransport();
    const recording = new CallRecording();
    await startCaller({ scenario, runId: 42, transport: t.transport, recording, pacing: 'fast' })
      .done;

    // At 0 s (stream start), then at 1, 2 and 3 s of call time.
    expect(t.tags).toEqual(Array.from({ length: 4 }, () => ({ kind: 'run', value: 42 })));
    expect(recording.ofKind('caller.tag').map((e) => e.data?.repeat)).toEqual([
      undefined,
      true,
      true,
      true,
    ]);
    const vad = new EnergyVad();
    const events = t.frames.flatMap((f, i) => vad.push(decodeMulaw(f), i * FRAME_MS));
    expect(events).toEqual([]);
  });

  it('starts an utterance with its run tag only after two seconds without one', async () => {
    const tagsFor = async (firstMs: number) => {
      const scenario = parseScenario({
        name: 'talker',
        caller: {
          steps: [
            { say: 'a first sentence', durationMs: firstMs },
            { say: 'and straight on', durationMs: 400 },
          ],
        },
      });
      const t = recordingTransport();
      const recording = new CallRecording();
      await startCaller({ scenario, runId: 7, transport: t.transport, recording, pacing: 'fast' })
        .done;
      return t.tags;
    };
    const run = { kind: 'run', value: 7 };
    // Talking on without a pause leaves no quiet to repeat the tag in.
    expect(await tagsFor(2_400)).toEqual([
      run,
      { kind: 'turn', value: 0 },
      run,
      { kind: 'turn', value: 1 },
    ]);
    // A short first utterance: the tag from the stream start is recent enough.
    expect(await tagsFor(600)).toEqual([
      run,
      { kind: 'turn', value: 0 },
      { kind: 'turn', value: 1 },
    ]);
  });

  it('does not take the frames it sends to catch up after an event-loop stall for quiet', async () => {
    const scenario = parseScenario({
      name: 'stalled',
      caller: { steps: [{ waitForAgent: { quietMs: 300, timeoutMs: 3_000 } }, { hangup: true }] },
    });
    const recording = new CallRecording();
    const caller = startCaller({
      scenario,
      runId: 5,
      transport: recordingTransport().transport,
      recording,
      pacing: 'fast',
    });
    // Stall for 40 frames of fast pacing, then hear the agent: the caller is 40 frames behind
    // and sends its overdue frames back to back, far more than the 15 of quietMs.
    const stallEnd = performance.now() + 80;
    while (performance.now() < stallEnd) {
      // busy: nothing else runs
    }
    caller.heard(silenceFrame());
    const heardAt = epochNowMs();
    await caller.done;
    const waited = recording.ofKind('caller.waited')[0];
    expect(waited?.data).toMatchObject({ heardAgent: true });
    // 300 ms of call time is 30 ms of wall time in fast pacing; allow timer granularity.
    expect((waited?.atEpochMs ?? 0) - heardAt).toBeGreaterThanOrEqual(29);
  });

  it('stops when the other side ends the call and does not hang up again', async () => {
    const scenario = parseScenario({ name: 'long', caller: { steps: [{ pauseMs: 60_000 }] } });
    const t = recordingTransport();
    const recording = new CallRecording();
    const caller = startCaller({
      scenario,
      runId: 1,
      transport: t.transport,
      recording,
      pacing: 'fast',
    });
    setTimeout(() => caller.ended('remote-hangup'), 20);
    await expect(caller.done).resolves.toEqual({ reason: 'remote-hangup' });
    expect(t.hangups()).toBe(0);
    expect(recording.ofKind('caller.call-ended')[0]?.data).toEqual({ reason: 'remote-hangup' });
  });

  it('paces frames at 20 ms in realtime mode', async () => {
    const scenario = parseScenario({ name: 'short', caller: { steps: [{ pauseMs: 400 }] } });
    const times: number[] = [];
    const caller = startCaller({
      scenario,
      runId: 3,
      transport: {
        sendAudio: () => times.push(performance.now()),
        sendDtmf: () => undefined,
        hangup: () => undefined,
      },
      recording: new CallRecording(),
      pacing: 'realtime',
    });
    await caller.done;
    const gaps = times.slice(1).map((t, i) => t - (times[i] as number));
    const sorted = [...gaps].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)] as number;
    expect(median).toBeGreaterThan(15);
    expect(median).toBeLessThan(25);
    // Total time follows the frame count (no drift): frames * 20 ms, within 15%.
    expect(times.at(-1)! - times[0]!).toBeGreaterThan((times.length - 1) * 20 * 0.85);
  });

  it('rejects an invalid scenario with the path of the problem', () => {
    expect(() => parseScenario({ name: 'x', caller: { steps: [{ dtmf: 'x1' }] } })).toThrow(
      /dtmf|steps/,
    );
    expect(() => parseScenario({ name: 'x', caller: { steps: [] } })).toThrow();
  });
});
