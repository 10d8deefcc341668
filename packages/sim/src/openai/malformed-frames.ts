/**
 * The frames of the `malformedEvents` fault (faults.ts). The real API sends only JSON text
 * frames, each an object with a string `type` (openai-realtime.md §1); each of these breaks that
 * in one way, so a client's parser can be shown to skip them without losing the real events.
 */
export const MALFORMED_KINDS = ['invalid-json', 'missing-type', 'unknown-type', 'binary'] as const;
export type MalformedKind = (typeof MALFORMED_KINDS)[number];

/** The `n`-th (0-based) malformed frame of a session, cycling through {@link MALFORMED_KINDS}. */
export function malformedFrame(n: number, eventId: string): string | Buffer {
  const kind: MalformedKind = MALFORMED_KINDS[n % MALFORMED_KINDS.length] ?? 'invalid-json';
  switch (kind) {
    case 'invalid-json':
      // A frame cut off mid-object, the way a broken proxy would deliver it.
      return '{"type":"response.output_audio.delta","delta":"AAAA';
    case 'missing-type':
      return JSON.stringify({ event_id: eventId, delta: 'AAAA' });
    case 'unknown-type':
      return JSON.stringify({ type: 'response.bogus_event', event_id: eventId });
    case 'binary':
      // Not UTF-8 and not JSON: a client that decodes binary frames as text must still cope.
      return Buffer.from([0x00, 0x9f, 0x92, 0x96, 0xff]);
  }
}
