/**
 * End-to-end timing of one call as both simulators saw it, on the one clock they share
 * (`atEpochMs`, fractional ms). This is what the bridge's own histograms cannot see: time a
 * frame waited in a socket buffer or behind a busy event loop before the bridge's handler ran.
 *
 * - Model → caller, per frame: the simulator writes each 100 ms audio delta at its real-time
 *   slot; the bridge re-cuts it into five 20 ms frames. A frame's latency is from its delta's
 *   write to its arrival at the simulated caller. A frame is **late** when that exceeds
 *   `lateFrameMs` (one 20 ms frame by default): at real-time pacing it plays that much after its
 *   slot, an audible gap. The generator's own stalls inside that span (stall-timeline.ts) are
 *   its lateness, not the bridge's: a frame counts as late only when it is late without them;
 *   the raw count is kept too.
 * - Caller → model, per utterance: from the moment the frame that triggers the VAD was sent
 *   (see speech-onset.ts) to `speech_started` written by the simulator. Late on the same bound.
 * - Barge-in: from `speech_started` written to `clear` received by the caller, and to
 *   `conversation.item.truncated` written by the simulator (the truncate was received).
 * - Set-up: from ringing our voice webhook to the caller's first agent audio; and the same less
 *   the simulated model's own time to first audio (session.updated to first delta), which is
 *   the platform's overhead.
 */
import type { RecordingEntry, SentEvent } from '@app/sim';

import { onsetFrame } from './speech-onset.js';

export interface CallTimingInput {
  /** When our voice webhook was rung (epoch ms, the simulators' clock). */
  placedAtEpochMs: number;
  recording: readonly RecordingEntry[];
  /** Server events of the call's OpenAI session(s), in order. */
  sent: readonly SentEvent[];
  lateFrameMs: number;
  /** How long the generator's event loop was stalled inside [from, to] (epoch ms). */
  generatorStall: (from: number, to: number) => number;
}

/** One latency sample: when its measurement started (epoch ms), how long, and whether late. */
export interface TimedSample {
  atEpochMs: number;
  latencyMs: number;
  /** Late even without the generator's own stalls. */
  late: boolean;
  /** Late as measured, whoever was slow. */
  lateRaw: boolean;
}

export interface CallTiming {
  agentFrames: number;
  /** Model → caller, each agent frame that could be matched to its delta. */
  frames: TimedSample[];
  /** Frames that could not be matched (a delta's frames missing, e.g. dropped by the bridge). */
  unmatchedFrames: number;
  /** Caller → model, each utterance's onset. */
  onsets: TimedSample[];
  clearMs: number[];
  truncateMs: number[];
  /** Webhook rung to first agent audio at the caller, ms. */
  firstAudioMs: number | null;
  /** The same less the simulated model's own time to first audio, ms. */
  firstAudioOverheadMs: number | null;
  /** Bad input the caller's Twilio side saw from the bridge. */
  protocolErrors: number;
}

const DELTA = 'response.output_audio.delta';
/** Frames per full delta: 100 ms deltas (the simulator's default) of 20 ms frames. */
const FRAMES_PER_DELTA = 5;

/** Latest time in ascending `times` at or before `t`, or undefined. */
function latestAtOrBefore(times: readonly number[], t: number): number | undefined {
  let lo = 0;
  let hi = times.length - 1;
  let found: number | undefined;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const v = times[mid] as number;
    if (v <= t) {
      found = v;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

/** Deltas grouped by item, items in the order their audio started. */
function deltasByItem(sent: readonly SentEvent[]): number[][] {
  const items = new Map<string, number[]>();
  for (const e of sent) {
    if (e.type !== DELTA) continue;
    const key = e.itemId ?? '';
    let list = items.get(key);
    if (!list) items.set(key, (list = []));
    list.push(e.atEpochMs);
  }
  return [...items.values()];
}

/**
 * Pairs received frames with the deltas that carried them. Every delta but an item's last
 * carries exactly five frames; the last carries the rest (and the silence-padded remainder),
 * which cannot arrive after the next item's first delta was written.
 */
function matchFrames(
  items: number[][],
  media: readonly RecordingEntry[],
  out: { latency: number[]; sentAt: number[]; unmatched: number },
): void {
  let p = 0;
  items.forEach((deltas, j) => {
    const nextItem = items[j + 1]?.[0] ?? Number.POSITIVE_INFINITY;
    deltas.forEach((sentAt, k) => {
      const last = k === deltas.length - 1;
      const cap = last ? FRAMES_PER_DELTA + 1 : FRAMES_PER_DELTA;
      let taken = 0;
      while (taken < cap && p < media.length) {
        const at = (media[p] as RecordingEntry).atEpochMs;
        if (last && at >= nextItem) break;
        p += 1;
        // Before its delta was written: the pairing slipped (a missing frame); not a sample.
        if (at < sentAt - 1) {
          out.unmatched += 1;
          continue;
        }
        out.latency.push(at - sentAt);
        out.sentAt.push(sentAt);
        taken += 1;
      }
    });
  });
  out.unmatched += media.length - p;
}

export function analyseCall(input: CallTimingInput): CallTiming {
  const { recording, sent, lateFrameMs, generatorStall } = input;
  const media = recording.filter((e) => e.kind === 'received.media');
  const frames = { latency: [] as number[], sentAt: [] as number[], unmatched: 0 };
  matchFrames(deltasByItem(sent), media, frames);
  /** Late beyond what the generator's own stalls in [from, from + latency] explain. */
  const sample = (from: number, latency: number): TimedSample => ({
    atEpochMs: from,
    latencyMs: latency,
    late: latency > lateFrameMs && latency - generatorStall(from, from + latency) > lateFrameMs,
    lateRaw: latency > lateFrameMs,
  });
  const frameSamples = frames.latency.map((l, i) => sample(frames.sentAt[i] as number, l));

  const speechStarted = sent
    .filter((e) => e.type === 'input_audio_buffer.speech_started')
    .map((e) => e.atEpochMs);
  const says = recording.filter((e) => e.kind === 'caller.say');
  const onsets: TimedSample[] = [];
  says.forEach((say, i) => {
    const text = String(say.data?.text ?? '');
    const durationMs = Number(say.data?.durationMs ?? 0);
    const frame = onsetFrame(text, durationMs);
    if (frame === null) return;
    const next = says[i + 1]?.atEpochMs ?? Number.POSITIVE_INFINITY;
    const started = speechStarted.find((t) => t >= say.atEpochMs && t < next);
    if (started === undefined) return;
    const slot = say.atEpochMs + frame * 20;
    const latency = started - slot;
    if (latency < -1) return;
    onsets.push(sample(slot, Math.max(0, latency)));
  });

  const clearMs: number[] = [];
  for (const c of recording) {
    if (c.kind !== 'received.clear') continue;
    const started = latestAtOrBefore(speechStarted, c.atEpochMs);
    if (started !== undefined && c.atEpochMs - started < 1_000) clearMs.push(c.atEpochMs - started);
  }
  const truncateMs: number[] = [];
  for (const e of sent) {
    if (e.type !== 'conversation.item.truncated') continue;
    const started = latestAtOrBefore(speechStarted, e.atEpochMs);
    if (started !== undefined && e.atEpochMs - started < 1_000)
      truncateMs.push(e.atEpochMs - started);
  }

  const firstMedia = media[0]?.atEpochMs;
  const firstAudioMs = firstMedia === undefined ? null : firstMedia - input.placedAtEpochMs;
  const updated = sent.find((e) => e.type === 'session.updated')?.atEpochMs;
  const firstDelta = sent.find((e) => e.type === DELTA)?.atEpochMs;
  const modelMs = updated !== undefined && firstDelta !== undefined ? firstDelta - updated : null;

  return {
    agentFrames: media.length,
    frames: frameSamples,
    unmatchedFrames: frames.unmatched,
    onsets,
    clearMs,
    truncateMs,
    firstAudioMs,
    firstAudioOverheadMs: firstAudioMs === null || modelMs === null ? null : firstAudioMs - modelMs,
    protocolErrors: recording.filter((e) => e.kind === 'protocol.error').length,
  };
}
