/**
 * Converts between the session's audio formats (openai-realtime.md §2: `audio/pcmu`,
 * `audio/pcma`, `audio/pcm` 24 kHz) and the 8 kHz linear PCM the simulator works in (VAD, tags,
 * synthesized speech). PCM 24 kHz is handled minimally: decimation by 3 in, sample repetition
 * out; good enough for energy VAD, not for listening.
 */
import { decodeMulaw, encodeMulaw } from '../audio/index.js';
import type { AudioFormat } from './session-config.js';

/** Bytes per ms of audio in `format` (§8: pcmu/pcma 8 bytes/ms, pcm 48 bytes/ms). */
export function bytesPerMs(format: AudioFormat): number {
  return format.type === 'audio/pcm' ? 48 : 8;
}

/** Session-format bytes → 8 kHz PCM. */
export function decodeAudio(format: AudioFormat, bytes: Buffer): Int16Array {
  switch (format.type) {
    case 'audio/pcmu':
      return decodeMulaw(bytes);
    case 'audio/pcma':
      return decodeAlaw(bytes);
    case 'audio/pcm': {
      const samples = Math.floor(bytes.length / 2);
      const out = new Int16Array(Math.floor(samples / 3));
      for (let i = 0; i < out.length; i += 1) {
        const j = i * 6;
        out[i] = Math.round(
          (bytes.readInt16LE(j) + bytes.readInt16LE(j + 2) + bytes.readInt16LE(j + 4)) / 3,
        );
      }
      return out;
    }
  }
}

/** 8 kHz PCM → session-format bytes. */
export function encodeAudio(format: AudioFormat, pcm: Int16Array): Buffer {
  switch (format.type) {
    case 'audio/pcmu':
      return encodeMulaw(pcm);
    case 'audio/pcma':
      return encodeAlaw(pcm);
    case 'audio/pcm': {
      const out = Buffer.allocUnsafe(pcm.length * 6);
      for (let i = 0; i < pcm.length; i += 1) {
        const s = pcm[i] as number;
        out.writeInt16LE(s, i * 6);
        out.writeInt16LE(s, i * 6 + 2);
        out.writeInt16LE(s, i * 6 + 4);
      }
      return out;
    }
  }
}

// G.711 A-law (ITU-T G.711 §A), straightforward segment search; pcma is rare on our lines.
const SEG_END = [0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff, 0x1fff, 0x3fff, 0x7fff];

function alawEncodeSample(sample: number): number {
  let pcm = sample >> 3;
  let mask: number;
  if (pcm >= 0) {
    mask = 0xd5;
  } else {
    mask = 0x55;
    pcm = -pcm - 1;
  }
  let seg = 0;
  while (seg < 8 && pcm > (SEG_END[seg] as number)) seg += 1;
  if (seg >= 8) return 0x7f ^ mask;
  let aval = seg << 4;
  aval |= seg < 2 ? (pcm >> 1) & 0x0f : (pcm >> seg) & 0x0f;
  return aval ^ mask;
}

function alawDecodeSample(byte: number): number {
  const a = byte ^ 0x55;
  let t = (a & 0x0f) << 4;
  const seg = (a & 0x70) >> 4;
  if (seg === 0) t += 8;
  else if (seg === 1) t += 0x108;
  else t = (t + 0x108) << (seg - 1);
  return a & 0x80 ? t : -t;
}

const ALAW_DECODE = Int16Array.from({ length: 256 }, (_, b) => alawDecodeSample(b));

/** A-law bytes → 16-bit PCM. */
export function decodeAlaw(bytes: Uint8Array): Int16Array {
  const out = new Int16Array(bytes.length);
  for (let i = 0; i < bytes.length; i += 1) out[i] = ALAW_DECODE[bytes[i] as number] as number;
  return out;
}

/** 16-bit PCM → A-law bytes. */
export function encodeAlaw(pcm: Int16Array): Buffer {
  const out = Buffer.allocUnsafe(pcm.length);
  for (let i = 0; i < pcm.length; i += 1) out[i] = alawEncodeSample(pcm[i] as number);
  return out;
}
