import { describe, expect, it } from 'vitest';

import { BASE64, twilioWire } from '../src/adapters/twilio-wire.js';

describe('twilio-wire', () => {
  it('writes exactly what JSON.stringify would for media, mark and clear', () => {
    const wire = twilioWire('MZ123');
    const messages = [
      { event: 'media', streamSid: 'MZ123', media: { payload: 'f/8A+w==' } },
      { event: 'mark', streamSid: 'MZ123', mark: { name: 'm42' } },
      { event: 'clear', streamSid: 'MZ123' },
    ] as const;
    for (const m of messages) expect(JSON.parse(wire(m))).toEqual(m);
  });

  it('escapes a hostile stream SID and mark name instead of letting them break the JSON', () => {
    const wire = twilioWire('MZ"},"event":"clear');
    const parsed = JSON.parse(wire({ event: 'mark', streamSid: 'x', mark: { name: 'a"b' } })) as {
      streamSid: string;
      mark: { name: string };
    };
    expect(parsed.streamSid).toBe('MZ"},"event":"clear');
    expect(parsed.mark.name).toBe('a"b');
  });

  it('accepts only standard base64 as a payload to splice', () => {
    expect(BASE64.test(Buffer.alloc(160, 0xff).toString('base64'))).toBe(true);
    expect(BASE64.test('AAA","type":"response.create')).toBe(false);
    expect(BASE64.test('AA\\u0022')).toBe(false);
    expect(BASE64.test('AAAA\n')).toBe(false);
  });
});
