import { describe, expect, it } from 'vitest';

import {
  decodeMulaw,
  encodeMulaw,
  encodeTag,
  EnergyVad,
  FRAME_BYTES,
  rmsDbfs,
  speechDurationMs,
  synthesizeSpeech,
  TagDetector,
  toFrames,
  type VadEvent,
} from '../src/audio/index.js';

function concat(...parts: Int16Array[]): Int16Array {
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** Sends audio through mu-law the way it travels on the wire. */
function overTheWire(pcm: Int16Array): Int16Array {
  return decodeMulaw(encodeMulaw(pcm));
}

describe('sim audio', () => {
  it('mu-law round trip keeps samples within the G.711 quantisation step', () => {
    const pcm = Int16Array.from({ length: 2_000 }, (_, i) => Math.round(30_000 * Math.sin(i / 7)));
    const back = overTheWire(pcm);
    for (let i = 0; i < pcm.length; i += 1) {
      const original = pcm[i] as number;
      expect(Math.abs((back[i] as number) - original)).toBeLessThanOrEqual(
        Math.max(16, Math.abs(original) / 16),
      );
    }
    expect(encodeMulaw(new Int16Array([0]))[0]).toBe(0xff);
  });

  it('frames audio in 160-byte frames, padding the last with silence', () => {
    const frames = toFrames(Buffer.alloc(400, 0x10));
    expect(frames.map((f) => f.length)).toEqual([FRAME_BYTES, FRAME_BYTES, FRAME_BYTES]);
    expect(frames[2]?.[79]).toBe(0x10);
    expect(frames[2]?.[80]).toBe(0xff);
  });

  it('synthesises speech: not silence, about -18 dBFS, deterministic, duration from text', () => {
    const a = synthesizeSpeech('I would like to book a table for two');
    const b = synthesizeSpeech('I would like to book a table for two');
    expect(a).toEqual(b);
    expect(a.length).toBe(speechDurationMs('I would like to book a table for two') * 8);
    expect(rmsDbfs(a)).toBeGreaterThan(-21);
    expect(rmsDbfs(a)).toBeLessThan(-15);
    expect(synthesizeSpeech('hi', { durationMs: 1_000 }).length).toBe(8_000);
    expect(synthesizeSpeech('something else')).not.toEqual(
      a.subarray(0, speechDurationMs('something else') * 8),
    );
  });

  it('decodes tags through mu-law in pieces of any size, and none from speech or silence', () => {
    const audio = overTheWire(
      concat(
        new Int16Array(800),
        encodeTag({ kind: 'run', value: 4711 }),
        synthesizeSpeech('hello there how are you'),
        encodeTag({ kind: 'turn', value: 2 }),
        new Int16Array(333),
      ),
    );
    const detector = new TagDetector();
    const tags = [];
    for (let i = 0; i < audio.length; i += 137)
      tags.push(...detector.push(audio.subarray(i, i + 137)));
    expect(tags).toEqual([
      { kind: 'run', value: 4711 },
      { kind: 'turn', value: 2 },
    ]);
    expect(rmsDbfs(encodeTag({ kind: 'turn', value: 1 }))).toBeLessThan(-40);
    expect(() => encodeTag({ kind: 'turn', value: -1 })).toThrow(RangeError);
  });

  it('VAD: speech starts and stops around the utterance; quiet tags are not speech', () => {
    const vad = new EnergyVad();
    const audio = overTheWire(
      concat(
        encodeTag({ kind: 'turn', value: 7 }),
        new Int16Array(8_000),
        synthesizeSpeech('please call me back tomorrow', { durationMs: 2_000 }),
        new Int16Array(8_000),
      ),
    );
    const events: VadEvent[] = [];
    for (let i = 0; i < audio.length; i += FRAME_BYTES) {
      events.push(...vad.push(audio.subarray(i, i + FRAME_BYTES), i / 8));
    }
    const speechStartMs = encodeTag({ kind: 'turn', value: 7 }).length / 8 + 1_000;
    expect(events.map((e) => e.type)).toEqual(['speech_started', 'speech_stopped']);
    const [started, stopped] = events as [
      Extract<VadEvent, { type: 'speech_started' }>,
      Extract<VadEvent, { type: 'speech_stopped' }>,
    ];
    expect(started.audioStartMs).toBeGreaterThanOrEqual(speechStartMs - 300);
    expect(started.audioStartMs).toBeLessThanOrEqual(speechStartMs);
    expect(stopped.audioEndMs).toBeGreaterThan(speechStartMs + 1_800);
    expect(stopped.audioEndMs).toBeLessThanOrEqual(speechStartMs + 2_000);
  });
});
