/**
 * When the OpenAI simulator's VAD will hear a caller utterance start: the index of the 20 ms
 * frame whose arrival makes it send `speech_started`. The simulated caller's speech is
 * deterministic (same text and length, same samples), so running the simulator's own VAD over
 * it here gives that frame exactly, and the caller's recording says when the utterance's first
 * frame left. Their difference is the caller-to-model direction's end-to-end latency.
 */
import {
  decodeMulaw,
  encodeMulaw,
  EnergyVad,
  FRAME_MS,
  synthesizeSpeech,
  toFrames,
} from '@app/sim';

/**
 * The bridge's `server_vad` settings (threshold 0.5 → -35 dBFS in the simulator, 300 ms prefix,
 * 500 ms silence), as services/call-bridge sends them.
 */
const VAD = { thresholdDbfs: -35, prefixPaddingMs: 300, silenceDurationMs: 500 };

const cache = new Map<string, number | null>();

/** Frame index (0-based) that triggers `speech_started`; null when the VAD never triggers. */
export function onsetFrame(text: string, durationMs: number): number | null {
  const key = `${durationMs}\u0000${text}`;
  const known = cache.get(key);
  if (known !== undefined) return known;
  const vad = new EnergyVad(VAD);
  const frames = toFrames(encodeMulaw(synthesizeSpeech(text, { durationMs })));
  let found: number | null = null;
  for (let i = 0; i < frames.length && found === null; i += 1) {
    const events = vad.push(decodeMulaw(frames[i] as Buffer), i * FRAME_MS);
    if (events.some((e) => e.type === 'speech_started')) found = i;
  }
  cache.set(key, found);
  return found;
}
