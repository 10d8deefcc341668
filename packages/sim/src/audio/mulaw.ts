/**
 * G.711 mu-law, the phone audio both Twilio Media Streams and the OpenAI `audio/pcmu` format
 * carry: 8 kHz, 8 bits per sample (twilio.md "Media Streams: media"). Table-driven, because
 * the simulators convert every frame of every call.
 */

export const SAMPLE_RATE = 8_000;
/** One Media Streams frame: 20 ms. */
export const FRAME_MS = 20;
/** Bytes (= samples) in a 20 ms mu-law frame. */
export const FRAME_BYTES = (SAMPLE_RATE * FRAME_MS) / 1_000;
/** The mu-law byte for digital silence (0 as linear PCM). */
export const MULAW_SILENCE = 0xff;

const BIAS = 0x84;
const CLIP = 32_635;

function encodeSample(sample: number): number {
  let s = sample;
  const sign = s < 0 ? 0x80 : 0;
  if (s < 0) s = -s;
  if (s > CLIP) s = CLIP;
  s += BIAS;
  let exponent = 7;
  for (let mask = 0x4000; (s & mask) === 0 && exponent > 0; mask >>= 1) exponent -= 1;
  const mantissa = (s >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

function decodeSample(byte: number): number {
  const u = ~byte & 0xff;
  const exponent = (u >> 4) & 0x07;
  const magnitude = ((((u & 0x0f) << 3) + BIAS) << exponent) - BIAS;
  return u & 0x80 ? -magnitude : magnitude;
}

const DECODE = Int16Array.from({ length: 256 }, (_, b) => decodeSample(b));
const ENCODE = Uint8Array.from({ length: 65_536 }, (_, i) => encodeSample(i - 32_768));

/** Linear 16-bit PCM to mu-law bytes. */
export function encodeMulaw(pcm: Int16Array): Buffer {
  const out = Buffer.allocUnsafe(pcm.length);
  for (let i = 0; i < pcm.length; i += 1) out[i] = ENCODE[(pcm[i] as number) + 32_768] as number;
  return out;
}

/** Mu-law bytes to linear 16-bit PCM. */
export function decodeMulaw(bytes: Uint8Array): Int16Array {
  const out = new Int16Array(bytes.length);
  for (let i = 0; i < bytes.length; i += 1) out[i] = DECODE[bytes[i] as number] as number;
  return out;
}

/** Splits mu-law audio into 20 ms frames, padding the last one with silence. */
export function toFrames(mulaw: Uint8Array, frameBytes = FRAME_BYTES): Buffer[] {
  const frames: Buffer[] = [];
  for (let i = 0; i < mulaw.length; i += frameBytes) {
    const frame = Buffer.alloc(frameBytes, MULAW_SILENCE);
    frame.set(mulaw.subarray(i, Math.min(i + frameBytes, mulaw.length)));
    frames.push(frame);
  }
  return frames;
}

/** A frame of silence (a fresh buffer each call: callers may hand it to a socket). */
export function silenceFrame(frameBytes = FRAME_BYTES): Buffer {
  return Buffer.alloc(frameBytes, MULAW_SILENCE);
}

/** Level of a block of PCM in dB relative to full scale (-Infinity for digital silence). */
export function rmsDbfs(pcm: Int16Array): number {
  if (pcm.length === 0) return Number.NEGATIVE_INFINITY;
  let sum = 0;
  for (const s of pcm) sum += s * s;
  const rms = Math.sqrt(sum / pcm.length);
  return rms === 0 ? Number.NEGATIVE_INFINITY : 20 * Math.log10(rms / 32_768);
}
