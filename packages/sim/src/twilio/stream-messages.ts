/**
 * Checks what the customer's server sends on a bidirectional stream the way Twilio does
 * (twilio.md §4.1, §4.3): JSON text frames only; `media`, `mark` and `clear` with this stream's
 * `streamSid`. Anything else is dropped with the warning Twilio would log (31950 binary,
 * 31951 invalid message); Twilio does not close the stream for them.
 */
import type { RawData } from 'ws';

export type ServerMessage =
  { event: 'media'; payload: Buffer } | { event: 'mark'; name: string } | { event: 'clear' };

export interface ProtocolWarning {
  code: number;
  severity: 'warning';
  reason: string;
  detail?: string;
}

export interface CheckedMessage {
  /** The message to act on; undefined when it is dropped. */
  message?: ServerMessage;
  /** Recorded in the call's recording as `protocol.error`. */
  warnings: ProtocolWarning[];
}

const ALLOWED_KEYS: Record<string, readonly string[]> = {
  media: ['event', 'streamSid', 'media'],
  mark: ['event', 'streamSid', 'mark'],
  clear: ['event', 'streamSid'],
};

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data as ArrayBuffer).toString('utf8');
}

function drop(reason: string, detail?: string, code = 31951): CheckedMessage {
  const w: ProtocolWarning = { code, severity: 'warning', reason };
  if (detail !== undefined) w.detail = detail;
  return { warnings: [w] };
}

export function checkServerMessage(
  data: RawData,
  isBinary: boolean,
  streamSid: string,
): CheckedMessage {
  // 31950: binary frames or raw audio instead of JSON text (§4.1).
  if (isBinary) return drop('binary-frame', undefined, 31950);
  const text = rawText(data);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return drop('malformed-json', text.slice(0, 200));
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return drop('not-an-object', text.slice(0, 200));
  }
  const msg = parsed as Record<string, unknown>;
  const event = msg.event;
  if (typeof event !== 'string' || ALLOWED_KEYS[event] === undefined) {
    return drop('unknown-event', typeof event === 'string' ? event : String(event));
  }
  if (msg.streamSid !== streamSid) {
    return drop('wrong-stream-sid', String(msg.streamSid));
  }
  const warnings: ProtocolWarning[] = [];
  const extra = Object.keys(msg).filter((k) => !(ALLOWED_KEYS[event] ?? []).includes(k));
  if (extra.length > 0) {
    // Extra fields are flagged (§4.3) but the message still acts.
    warnings.push({
      code: 31951,
      severity: 'warning',
      reason: 'extra-fields',
      detail: extra.join(','),
    });
  }
  if (event === 'clear') return { message: { event }, warnings };
  if (event === 'mark') {
    const mark = msg.mark as Record<string, unknown> | undefined;
    if (typeof mark?.name !== 'string' || mark.name === '') {
      return { warnings: [...warnings, ...drop('mark-without-name').warnings] };
    }
    return { message: { event, name: mark.name }, warnings };
  }
  const media = msg.media as Record<string, unknown> | undefined;
  const payload = media?.payload;
  if (typeof payload !== 'string') {
    return { warnings: [...warnings, ...drop('media-without-payload').warnings] };
  }
  if (payload === '' || !BASE64.test(payload)) {
    return {
      warnings: [...warnings, ...drop('bad-base64', payload.slice(0, 40)).warnings],
    };
  }
  return { message: { event: 'media', payload: Buffer.from(payload, 'base64') }, warnings };
}
