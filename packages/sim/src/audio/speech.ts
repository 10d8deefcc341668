/**
 * Speech-like audio generated from text: a voiced source (glottal pulses with intonation and
 * jitter) through vowel formant resonators, in syllables with consonant noise bursts and
 * short gaps between words. Not intelligible, but it has what a voice pipeline reacts to:
 * speech energy and spectrum for VAD, pauses inside a sentence shorter than end-of-turn
 * silence, and a duration that grows with the text. Deterministic: the same text gives the
 * same samples, so recordings and benchmarks repeat.
 */
import { SAMPLE_RATE } from './mulaw.js';

/** Formants (F1, F2 in Hz) of the vowels a syllable may carry. */
const VOWELS: ReadonlyArray<readonly [number, number]> = [
  [730, 1090], // a
  [530, 1840], // e
  [270, 2290], // i
  [570, 840], // o
  [300, 870], // u
];

/** RMS level the generated speech is normalised to: about -18 dBFS, a normal talker. */
const TARGET_RMS = 0.125 * 32_768;

/** How long `text` takes to say at a natural pace, in ms (about 14 characters a second). */
export function speechDurationMs(text: string): number {
  return Math.max(400, Math.min(60_000, Math.round(text.length * 70)));
}

/** A small deterministic PRNG (mulberry32), seeded from the text. */
function prng(seedText: string): () => number {
  let seed = 2_166_136_261;
  for (let i = 0; i < seedText.length; i += 1) {
    seed ^= seedText.charCodeAt(i);
    seed = Math.imul(seed, 16_777_619);
  }
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Two-pole resonator (Klatt): centre `freq`, bandwidth `bw`, unity gain at DC. */
class Resonator {
  #y1 = 0;
  #y2 = 0;
  #a = 0;
  #b = 0;
  #c = 0;
  tune(freq: number, bw: number): void {
    this.#c = -Math.exp((-2 * Math.PI * bw) / SAMPLE_RATE);
    this.#b =
      2 * Math.exp((-Math.PI * bw) / SAMPLE_RATE) * Math.cos((2 * Math.PI * freq) / SAMPLE_RATE);
    this.#a = 1 - this.#b - this.#c;
  }
  step(x: number): number {
    const y = this.#a * x + this.#b * this.#y1 + this.#c * this.#y2;
    this.#y2 = this.#y1;
    this.#y1 = y;
    return y;
  }
}

/** Recently synthesised speech by text and length: a load run says the same lines many times. */
const recent = new Map<string, Int16Array>();
const RECENT_MAX = 256;

/**
 * Generates 8 kHz 16-bit PCM that sounds like someone saying `text`.
 * Deterministic, so a recent result is returned again: treat it as read-only.
 * @param opts.durationMs - Length of the audio. @defaultValue {@link speechDurationMs}(text)
 */
export function synthesizeSpeech(text: string, opts: { durationMs?: number } = {}): Int16Array {
  const durationMs = opts.durationMs ?? speechDurationMs(text);
  const key = `${durationMs}:${text}`;
  const known = recent.get(key);
  if (known) return known;
  const pcm = synthesize(text, durationMs);
  if (recent.size >= RECENT_MAX) recent.delete(recent.keys().next().value as string);
  recent.set(key, pcm);
  return pcm;
}

function synthesize(text: string, durationMs: number): Int16Array {
  const total = Math.round((durationMs * SAMPLE_RATE) / 1_000);
  const out = new Float64Array(total);
  const random = prng(text);
  const words = Math.max(1, text.trim().split(/\s+/).length);
  // Syllables of ~200 ms; a 60 ms gap after each word boundary keeps inner pauses far below
  // the 500 ms of silence that ends a turn (openai-realtime.md, server VAD defaults).
  const syllables = Math.max(1, Math.round(durationMs / 200));
  const syllableLen = Math.floor(total / syllables);
  const gapLen = Math.round(0.06 * SAMPLE_RATE);
  const wordEvery = Math.max(1, Math.round(syllables / words));
  const f1 = new Resonator();
  const f2 = new Resonator();
  const f3 = new Resonator();
  f3.tune(2_500, 200);
  let phase = 0;
  for (let s = 0; s < syllables; s += 1) {
    const start = s * syllableLen;
    const end = s === syllables - 1 ? total : start + syllableLen;
    const voicedEnd = (s + 1) % wordEvery === 0 && s < syllables - 1 ? end - gapLen : end;
    const [vf1, vf2] = VOWELS[Math.floor(random() * VOWELS.length)] as readonly [number, number];
    f1.tune(vf1, 90);
    f2.tune(vf2, 110);
    const burst = Math.round((0.02 + random() * 0.03) * SAMPLE_RATE);
    for (let i = start; i < voicedEnd; i += 1) {
      const t = i / total;
      // Falling intonation over the sentence, with a little jitter.
      const f0 = 170 - 50 * t + (random() - 0.5) * 6;
      phase += f0 / SAMPLE_RATE;
      const pulse = phase >= 1 ? 1 : 0;
      if (phase >= 1) phase -= 1;
      const pos = i - start;
      const len = voicedEnd - start;
      const envelope = Math.min(1, pos / 240, (len - pos) / 320);
      const noise = pos < burst ? (random() - 0.5) * 0.6 : 0;
      const voiced = f1.step(pulse) + 0.6 * f2.step(pulse) + 0.25 * f3.step(pulse);
      out[i] = (voiced + noise) * Math.max(0, envelope);
    }
  }
  let sum = 0;
  for (const v of out) sum += v * v;
  const gain = sum === 0 ? 0 : TARGET_RMS / Math.sqrt(sum / total);
  const pcm = new Int16Array(total);
  for (let i = 0; i < total; i += 1) {
    pcm[i] = Math.max(-32_768, Math.min(32_767, Math.round((out[i] as number) * gain)));
  }
  return pcm;
}
