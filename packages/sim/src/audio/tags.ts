/**
 * In-band tags: how the simulated caller tells the OpenAI simulator, through audio alone, which
 * scenario run it belongs to and which of its turns it is about to say. A tag is a short
 * sequence of DTMF tone pairs (ITU-T Q.23 frequencies) at about -47 dBFS: far below the VAD
 * threshold (audio/vad.ts), so the tags never count as speech, yet clean enough in a
 * digital line to decode with the Goertzel algorithm.
 *
 * Layout: a kind symbol (`A` = run id, `B` = turn index), decimal digits, then `#`.
 * Each symbol is 40 ms of tone followed by 40 ms of silence.
 */
import { SAMPLE_RATE } from './mulaw.js';

const ROWS = [697, 770, 852, 941] as const;
const COLS = [1209, 1336, 1477, 1633] as const;
const KEYS = ['123A', '456B', '789C', '*0#D'] as const;

const TONE_SAMPLES = (40 * SAMPLE_RATE) / 1_000;
const GAP_SAMPLES = (40 * SAMPLE_RATE) / 1_000;
/** Peak of each of the two tones: ~-47 dBFS RMS together. */
const TONE_AMPLITUDE = 150;
/**
 * Mean square of a window at the VAD threshold (-35 dBFS RMS). A tag is far quieter; a window
 * this loud is speech, so it is not searched for tones: the Goertzel filters are the simulator's
 * costliest per-frame work, and callers speak about half the time.
 */
const SPEECH_MEAN_SQUARE = (10 ** (-35 / 20) * 32_768) ** 2;
/** Analysis window (20 ms: 50 Hz resolution separates the DTMF rows) and hop. */
const WINDOW = 160;
const HOP = 80;

export type TagKind = 'run' | 'turn';
export interface Tag {
  kind: TagKind;
  value: number;
}

const KIND_SYMBOL: Record<TagKind, string> = { run: 'A', turn: 'B' };

function symbolFreqs(symbol: string): [number, number] {
  for (let r = 0; r < 4; r += 1) {
    const c = (KEYS[r] as string).indexOf(symbol);
    if (c >= 0) return [ROWS[r] as number, COLS[c] as number];
  }
  throw new RangeError(`not a DTMF symbol: ${symbol}`);
}

/** PCM (8 kHz) of the tag; prepend it to the caller's audio. */
export function encodeTag(tag: Tag): Int16Array {
  if (!Number.isInteger(tag.value) || tag.value < 0 || tag.value > 999_999_999) {
    throw new RangeError(`tag value must be an integer 0..999999999, got ${tag.value}`);
  }
  const symbols = `${KIND_SYMBOL[tag.kind]}${tag.value}#`;
  const out = new Int16Array(symbols.length * (TONE_SAMPLES + GAP_SAMPLES));
  [...symbols].forEach((symbol, index) => {
    const [fr, fc] = symbolFreqs(symbol);
    const offset = index * (TONE_SAMPLES + GAP_SAMPLES);
    for (let i = 0; i < TONE_SAMPLES; i += 1) {
      const t = i / SAMPLE_RATE;
      out[offset + i] = Math.round(
        TONE_AMPLITUDE * (Math.sin(2 * Math.PI * fr * t) + Math.sin(2 * Math.PI * fc * t)),
      );
    }
  });
  return out;
}

/** Share of a window's energy at `freq` (0..1; ~0.5 for each tone of a clean pair). */
function goertzelShare(samples: Float64Array, freq: number, energy: number): number {
  const coeff = 2 * Math.cos((2 * Math.PI * freq) / SAMPLE_RATE);
  let s1 = 0;
  let s2 = 0;
  for (const x of samples) {
    const s0 = x + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  const power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
  return (2 * power) / (samples.length * energy);
}

function detectSymbol(window: Float64Array): string | null {
  let energy = 0;
  for (const x of window) energy += x * x;
  // Digital silence or a near-silent line, or speech: nothing to decode.
  const meanSquare = energy / window.length;
  if (meanSquare < 400 || meanSquare > SPEECH_MEAN_SQUARE) return null;
  const best = (freqs: readonly number[]) => {
    const shares = freqs.map((f) => goertzelShare(window, f, energy));
    const top = Math.max(...shares);
    const index = shares.indexOf(top);
    const runnerUp = Math.max(...shares.filter((_, i) => i !== index));
    return { index, top, clear: top > 0.25 && runnerUp < top / 4 };
  };
  const row = best(ROWS);
  const col = best(COLS);
  if (!row.clear || !col.clear || row.top + col.top < 0.7) return null;
  return (KEYS[row.index] as string)[col.index] ?? null;
}

/**
 * Decodes tags from a stream of PCM pushed in pieces of any size (frames need not align).
 * A symbol counts when two overlapping windows agree; a gap must separate symbols.
 */
export class TagDetector {
  #buffer = new Float64Array(0);
  #last: string | null = null;
  #streak = 0;
  #accepted = false;
  #symbols = '';

  push(pcm: Int16Array): Tag[] {
    const merged = new Float64Array(this.#buffer.length + pcm.length);
    merged.set(this.#buffer);
    merged.set(pcm, this.#buffer.length);
    const tags: Tag[] = [];
    let offset = 0;
    for (; offset + WINDOW <= merged.length; offset += HOP) {
      const symbol = detectSymbol(merged.subarray(offset, offset + WINDOW));
      if (symbol === this.#last && symbol !== null) {
        this.#streak += 1;
      } else {
        this.#last = symbol;
        this.#streak = symbol === null ? 0 : 1;
        this.#accepted = false;
      }
      if (symbol !== null && this.#streak >= 2 && !this.#accepted) {
        this.#accepted = true;
        const tag = this.#take(symbol);
        if (tag) tags.push(tag);
      }
    }
    this.#buffer = merged.slice(offset);
    return tags;
  }

  #take(symbol: string): Tag | null {
    if (symbol === 'A' || symbol === 'B') {
      this.#symbols = symbol;
      return null;
    }
    if (this.#symbols === '') return null;
    if (symbol !== '#') {
      this.#symbols += /[0-9]/.test(symbol) ? symbol : '';
      if (this.#symbols.length > 10) this.#symbols = '';
      return null;
    }
    const kind: TagKind = this.#symbols[0] === 'A' ? 'run' : 'turn';
    const digits = this.#symbols.slice(1);
    this.#symbols = '';
    return digits.length > 0 ? { kind, value: Number(digits) } : null;
  }
}
