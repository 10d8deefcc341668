/**
 * Frame accounting of one call, both ways, from three independent counts: what the simulated
 * caller sent and received (Twilio simulator), what the call-bridge says it forwarded and
 * dropped (the `ended` event's metrics in the call record), and what the simulated model
 * received and produced (OpenAI simulator). A frame is 20 ms of 8 kHz µ-law (160 bytes).
 *
 * - Caller → model: exact. Every frame the caller sent must reach the model's input buffer.
 * - Bridge → caller: exact. Every frame the bridge wrote must reach the caller.
 * - Model → bridge: the bridge deliberately discards the rest of an answer the caller talked
 *   over (barge-in: `clear`, then late deltas of the cut item), so only answers never cut are
 *   counted exactly: each needs ceil(audio bytes / 160) frames. Cut answers give a bound: at
 *   most five frames per 100 ms delta the model wrote. Fewer frames than the uncut answers
 *   need is loss; more than every answer could fill is duplication. An answer's frames come
 *   from its deltas: every delta but an answer's last is 100 ms (five frames); the last one's
 *   size follows from the line's length when the model said the whole line.
 * - A caller that hangs up while the agent is still talking (a stall longer than the caller's
 *   patience, on a loaded machine) hangs up on the audio in flight: that shortfall is counted
 *   as `cutByHangUp`, not as lost, and the call is flagged.
 */
import { speechDurationMs, type RecordingEntry, type SentEvent } from '@app/sim';

/** 20 ms of 8 kHz µ-law. */
const FRAME_BYTES = 160;
const FRAME_MS = 20;
/** µ-law bytes per ms at 8 kHz. */
const BYTES_PER_MS = 8;
/** Frames in one 100 ms delta of the simulator (its default `chunkMs`). */
const FRAMES_PER_DELTA = 5;
const DELTA_BYTES = FRAMES_PER_DELTA * FRAME_BYTES;
/** Model audio written this close before the caller's hang-up (or after) was still playing. */
const IN_FLIGHT_MS = 1_000;

const DELTA = 'response.output_audio.delta';
const TRUNCATED = 'conversation.item.truncated';

/** What the OpenAI simulator knew about the call's session once it closed. */
export interface ModelSide {
  /** Caller audio appended to the session, ms. */
  inputAudioMs: number;
  /** The agent's lines, by output item. */
  said: ReadonlyArray<{ role: 'caller' | 'agent'; text: string; itemId?: string }>;
  sent: readonly SentEvent[];
}

/** The bridge's own counts (`ended` event metrics, stored in `calls.metrics`). */
export interface BridgeSide {
  framesIn: number;
  framesOut: number;
  framesDropped: number;
}

export interface CallFramesInput {
  recording: readonly RecordingEntry[];
  bridge: BridgeSide | null;
  model: ModelSide | null;
}

export interface CallFrames {
  /** Whether all three sides reported: without one, nothing is proven for the call. */
  complete: boolean;
  callerToModel: {
    sent: number;
    bridged: number;
    received: number;
    lost: number;
    duplicated: number;
  };
  modelToCaller: {
    /** Frames the answers never cut need (exact). */
    uncutNeeded: number;
    /**
     * Most frames the cut answers could have filled, plus the slack of an answer stopped by the
     * caller's hang-up (up to four frames of its last delta).
     */
    cutAtMost: number;
    bridged: number;
    received: number;
    /** Bridge wrote, caller never got; plus uncut audio the bridge never wrote. */
    lost: number;
    /** Frames beyond what the model produced, or received beyond what the bridge wrote. */
    duplicated: number;
    /** Shortfall of a call whose caller hung up while the agent was talking: not lost. */
    cutByHangUp: number;
  };
  /** The caller hung up while the agent's audio was still coming. */
  hungUpDuringAgentAudio: boolean;
  /** Frames the bridge dropped (back-pressure), both ways. */
  dropped: number;
}

/** Frames of audio the caller sent, from the Twilio simulator's `sent.stop`. */
function callerSent(recording: readonly RecordingEntry[]): number | null {
  const stop = recording.find((e) => e.kind === 'sent.stop');
  const n = stop?.data?.mediaSent;
  return typeof n === 'number' ? n : null;
}

export function countCallFrames(input: CallFramesInput): CallFrames {
  const { recording, bridge, model } = input;
  const sent = callerSent(recording);
  const received = recording.reduce((n, e) => n + (e.kind === 'received.media' ? 1 : 0), 0);
  const modelIn = model ? model.inputAudioMs / FRAME_MS : 0;

  const cut = new Set<string>();
  const deltas = new Map<string, number>();
  let lastDeltaAt = Number.NEGATIVE_INFINITY;
  let lastDeltaItem: string | undefined;
  for (const e of model?.sent ?? []) {
    if (e.type === TRUNCATED && e.itemId !== undefined) cut.add(e.itemId);
    if (e.type === DELTA && e.itemId !== undefined) {
      deltas.set(e.itemId, (deltas.get(e.itemId) ?? 0) + 1);
      if (e.atEpochMs >= lastDeltaAt) {
        lastDeltaAt = e.atEpochMs;
        lastDeltaItem = e.itemId;
      }
    }
  }
  const hangUp =
    recording.find((e) => e.kind === 'stream.caller-hangup') ??
    recording.find((e) => e.kind === 'sent.stop');
  const hungUpDuringAgentAudio =
    hangUp !== undefined && lastDeltaAt > hangUp.atEpochMs - IN_FLIGHT_MS;
  const lines = new Map<string, string>();
  for (const line of model?.said ?? [])
    if (line.role === 'agent' && line.itemId !== undefined) lines.set(line.itemId, line.text);
  let uncutNeeded = 0;
  let cutAtMost = 0;
  for (const [itemId, n] of deltas) {
    if (cut.has(itemId)) {
      cutAtMost += n * FRAMES_PER_DELTA;
      continue;
    }
    const text = lines.get(itemId);
    const bytes = text === undefined ? 0 : speechDurationMs(text) * BYTES_PER_MS;
    // The whole line went out: its last delta is the remainder. Otherwise (the response was
    // stopped, its line only what was said so far) every delta was a full one.
    const whole = Math.ceil(bytes / DELTA_BYTES) === n;
    const needed = whole ? Math.ceil(bytes / FRAME_BYTES) : n * FRAMES_PER_DELTA;
    uncutNeeded += needed;
    // The answer the caller hung up on was stopped by the hang-up: its line is what was said so
    // far, which may need as many deltas as were sent while the last one was still a full one.
    // Up to a delta's worth more frames than the line needs is then no duplication.
    if (whole && hungUpDuringAgentAudio && itemId === lastDeltaItem)
      cutAtMost += n * FRAMES_PER_DELTA - needed;
  }

  const bridgedOut = bridge?.framesOut ?? 0;
  const shortfall = Math.max(0, bridgedOut - received) + Math.max(0, uncutNeeded - bridgedOut);
  return {
    complete: sent !== null && bridge !== null && model !== null,
    callerToModel: {
      sent: sent ?? 0,
      bridged: bridge?.framesIn ?? 0,
      received: modelIn,
      lost: Math.max(0, (sent ?? 0) - modelIn),
      duplicated: Math.max(0, modelIn - (sent ?? 0)),
    },
    modelToCaller: {
      uncutNeeded,
      cutAtMost,
      bridged: bridgedOut,
      received,
      lost: hungUpDuringAgentAudio ? 0 : shortfall,
      duplicated:
        Math.max(0, bridgedOut - (uncutNeeded + cutAtMost)) + Math.max(0, received - bridgedOut),
      cutByHangUp: hungUpDuringAgentAudio ? shortfall : 0,
    },
    hungUpDuringAgentAudio,
    dropped: bridge?.framesDropped ?? 0,
  };
}
