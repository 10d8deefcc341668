export {
  FRAME_BYTES,
  FRAME_MS,
  MULAW_SILENCE,
  SAMPLE_RATE,
  decodeMulaw,
  encodeMulaw,
  rmsDbfs,
  silenceFrame,
  toFrames,
} from './mulaw.js';
export { speechDurationMs, synthesizeSpeech } from './speech.js';
export { TagDetector, encodeTag, type Tag, type TagKind } from './tags.js';
export { EnergyVad, type VadEvent, type VadOptions } from './vad.js';
