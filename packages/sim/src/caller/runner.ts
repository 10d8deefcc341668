/**
 * The simulated caller: plays a scenario's caller steps over any transport (a Twilio media
 * stream, or OpenAI's SIP leg), one 20 ms frame at a time, like a phone that always streams
 * (silence included), and records what it said and what it heard.
 *
 * Time is counted in frames, so the same scenario behaves the same in 'realtime' pacing
 * (a frame every 20 ms, as on a real line) and 'fast' pacing (a frame every 2 ms, for tests).
 *
 * The run tag (audio/tags.ts) goes out when the stream starts and again about every second
 * of call time while the caller is quiet, in place of silence: a bridge that reconnects to
 * OpenAI mid-call opens a session that never heard the start, and it must still learn whose
 * scenario it is hearing. Tags are far below the VAD threshold, so they never count as speech.
 */
import {
  encodeMulaw,
  encodeTag,
  FRAME_BYTES,
  FRAME_MS,
  silenceFrame,
  synthesizeSpeech,
  toFrames,
  type Tag,
} from '../audio/index.js';
import type { CallRecording } from '../recording.js';
import type { CallerStep, Scenario } from '../scenario.js';

/** How the caller reaches the other side. */
export interface CallerTransport {
  /** One 20 ms frame of 160 mu-law bytes. */
  sendAudio(frame: Buffer): void;
  /** One key press (Media Streams `dtmf`). */
  sendDtmf(digit: string): void;
  /** The caller hangs up. */
  hangup(): void;
}

/** What the transport tells the caller while it runs. */
export interface CallerHandle {
  /** Agent audio the caller actually heard (played), one frame at a time, in play order. */
  heard(frame: Buffer): void;
  /** Twilio `clear` arrived: the agent audio not yet played was dropped. */
  cleared(): void;
  /** The call ended from the other side (or the transport failed). */
  ended(reason: string): void;
  /** Resolves when the scenario finished or the call ended. */
  readonly done: Promise<{ reason: string }>;
}

export type Pacing = 'realtime' | 'fast';

export interface CallerOptions {
  scenario: Scenario;
  /** Scenario run id from the ScenarioBook, announced in band at the start. */
  runId: number;
  transport: CallerTransport;
  recording: CallRecording;
  pacing: Pacing;
}

/** Wall-clock ms between frames for each pacing. */
const FRAME_INTERVAL_MS: Record<Pacing, number> = { realtime: FRAME_MS, fast: 2 };
const DEFAULT_QUIET_MS = 700;
const DEFAULT_WAIT_TIMEOUT_MS = 15_000;
/** Call time from the start of one run tag to the start of its repeat, while quiet. */
const RUN_TAG_REPEAT_FRAMES = 1_000 / FRAME_MS;
/**
 * An utterance starts with the run tag too when none went out for this long: a caller who
 * talks without pauses leaves no quiet to repeat it in. Longer than the repeat period, so a
 * repeat cut short by the utterance does not delay speech that follows a pause.
 */
const RUN_TAG_BEFORE_SAY_FRAMES = 2_000 / FRAME_MS;

class EndedError extends Error {}

export function startCaller(opts: CallerOptions): CallerHandle {
  const { transport, recording } = opts;
  const interval = FRAME_INTERVAL_MS[opts.pacing];
  let endedReason: string | null = null;
  let frameNo = 0;
  let nextAt = performance.now();
  // Agent audio heard: frames since the caller last finished speaking, and the frame
  // (caller clock) at which agent audio was last heard.
  let heardSinceTurn = 0;
  let heardTotal = 0;
  let lastHeardFrame = -1;
  /** performance.now() when agent audio was last heard. */
  let lastHeardAt = Number.NEGATIVE_INFINITY;
  let hearing = false;
  let turn = 0;
  const runTag: Tag = { kind: 'run', value: opts.runId };
  const runTagFrames = toFrames(encodeMulaw(encodeTag(runTag)));
  /** Frame at which the last complete run tag started. */
  let runTagAt = Number.NEGATIVE_INFINITY;
  /** A repeat of the run tag going out in place of silence: frames left, and its start. */
  let repeat: { frames: Buffer[]; startedAt: number } | null = null;

  const sleepUntilNextFrame = async () => {
    if (endedReason !== null) throw new EndedError();
    nextAt += interval;
    const wait = nextAt - performance.now();
    // Behind schedule (a slow event loop): send at once and catch up, never drift.
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    else await new Promise((resolve) => setImmediate(resolve));
    if (endedReason !== null) throw new EndedError();
  };

  const send = async (frame: Buffer) => {
    transport.sendAudio(frame);
    frameNo += 1;
    if (hearing && frameNo - lastHeardFrame > 2) {
      hearing = false;
      recording.add('caller.heard-end', { heardMs: heardTotal * FRAME_MS });
    }
    await sleepUntilNextFrame();
  };

  const sendPcm = async (pcm: Int16Array) => {
    for (const frame of toFrames(encodeMulaw(pcm))) await send(frame);
  };

  const sendTag = async (tag: Tag) => {
    recording.add('caller.tag', { ...tag });
    const startedAt = frameNo;
    await sendPcm(encodeTag(tag));
    if (tag.kind === 'run') runTagAt = startedAt;
  };

  /** What the line carries while the caller is quiet: silence, or a repeat of the run tag. */
  const quietFrame = (): Buffer => {
    if (repeat === null && frameNo - runTagAt >= RUN_TAG_REPEAT_FRAMES) {
      recording.add('caller.tag', { ...runTag, repeat: true });
      repeat = { frames: [...runTagFrames], startedAt: frameNo };
    }
    const frame = repeat?.frames.shift();
    if (repeat === null || frame === undefined) return silenceFrame();
    if (repeat.frames.length === 0) {
      runTagAt = repeat.startedAt;
      repeat = null;
    }
    // A copy: the transport may keep the buffer it is given.
    return Buffer.from(frame);
  };

  const say = async (text: string, durationMs?: number) => {
    // A repeat in progress is cut short: speech starts on cue (the detector drops the partial
    // tag when the next tag's kind symbol arrives).
    repeat = null;
    if (frameNo - runTagAt >= RUN_TAG_BEFORE_SAY_FRAMES) await sendTag(runTag);
    const index = turn++;
    await sendTag({ kind: 'turn', value: index });
    const pcm = synthesizeSpeech(text, durationMs === undefined ? {} : { durationMs });
    recording.add('caller.say', { turn: index, text, durationMs: pcm.length / 8 });
    await sendPcm(pcm);
    recording.add('caller.said', { turn: index });
    heardSinceTurn = 0;
  };

  const silenceUntil = async (done: () => boolean, maxFrames: number): Promise<boolean> => {
    for (let i = 0; i < maxFrames; i += 1) {
      if (done()) return true;
      await send(quietFrame());
    }
    return done();
  };

  const runStep = async (step: CallerStep) => {
    if ('say' in step) return say(step.say, step.durationMs);
    if ('pauseMs' in step) {
      recording.add('caller.pause', { ms: step.pauseMs });
      await silenceUntil(() => false, Math.round(step.pauseMs / FRAME_MS));
      return;
    }
    if ('waitForAgent' in step) {
      const quietFrames = Math.round((step.waitForAgent.quietMs ?? DEFAULT_QUIET_MS) / FRAME_MS);
      const maxFrames = Math.round(
        (step.waitForAgent.timeoutMs ?? DEFAULT_WAIT_TIMEOUT_MS) / FRAME_MS,
      );
      // Quiet on the wall clock too: after an event-loop stall the caller catches up by sending
      // its overdue frames back to back, and those frames alone would count as quiet while the
      // agent's audio, paced by the other side's clock, has not had a chance to arrive.
      const ok = await silenceUntil(
        () =>
          heardSinceTurn > 0 &&
          frameNo - lastHeardFrame >= quietFrames &&
          performance.now() - lastHeardAt >= quietFrames * interval,
        maxFrames,
      );
      recording.add('caller.waited', { heardAgent: ok, heardMs: heardSinceTurn * FRAME_MS });
      return;
    }
    if ('bargeIn' in step) {
      const needed = Math.ceil(step.bargeIn.afterAgentAudioMs / FRAME_MS);
      const ok = await silenceUntil(
        () => heardSinceTurn >= needed,
        DEFAULT_WAIT_TIMEOUT_MS / FRAME_MS,
      );
      recording.add('caller.barge-in', { heardMs: heardSinceTurn * FRAME_MS, onCue: ok });
      return say(step.bargeIn.say, step.bargeIn.durationMs);
    }
    if ('dtmf' in step) {
      for (const digit of step.dtmf) {
        transport.sendDtmf(digit);
        recording.add('caller.dtmf', { digit });
        await silenceUntil(() => false, 5);
      }
      return;
    }
    recording.add('caller.hangup');
    throw new EndedError('caller-hangup');
  };

  let resolveDone: (v: { reason: string }) => void = () => undefined;
  const done = new Promise<{ reason: string }>((resolve) => {
    resolveDone = resolve;
  });

  void (async () => {
    let reason = 'scenario-complete';
    try {
      await sendTag(runTag);
      for (const step of opts.scenario.caller.steps) await runStep(step);
      recording.add('caller.hangup', { after: 'last step' });
    } catch (err) {
      if (!(err instanceof EndedError)) throw err;
      reason = endedReason ?? err.message ?? 'caller-hangup';
    }
    if (endedReason === null) {
      endedReason = reason;
      transport.hangup();
    }
    resolveDone({ reason });
  })().catch((err: unknown) => {
    recording.add('caller.error', { message: err instanceof Error ? err.message : String(err) });
    endedReason ??= 'caller-error';
    resolveDone({ reason: 'caller-error' });
  });

  return {
    heard(frame: Buffer) {
      if (frame.length !== FRAME_BYTES) {
        recording.add('caller.heard-odd-frame', { bytes: frame.length });
      }
      if (!hearing) {
        hearing = true;
        recording.add('caller.heard-start', { heardMs: heardTotal * FRAME_MS });
      }
      heardSinceTurn += 1;
      heardTotal += 1;
      lastHeardFrame = frameNo;
      lastHeardAt = performance.now();
    },
    cleared() {
      // `heardMs` counts whole frames, the one playing included; `playedMs` is the position
      // within that frame too (frames play in real time from the moment they are taken), so a
      // test can hold a truncation point to less than a frame.
      const inFrame = heardTotal > 0 ? Math.min(FRAME_MS, performance.now() - lastHeardAt) : 0;
      recording.add('caller.cleared', {
        heardMs: heardTotal * FRAME_MS,
        playedMs: Math.max(0, (heardTotal - 1) * FRAME_MS + inFrame),
      });
    },
    ended(reason: string) {
      if (endedReason !== null) return;
      endedReason = reason;
      recording.add('caller.call-ended', { reason });
    },
    done,
  };
}
