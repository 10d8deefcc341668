import { describe, expect, it } from 'vitest';

import {
  parseSipHeaders,
  phoneFromAddress,
  phoneFromUri,
  type SipHeader,
} from '../src/domain/sip-headers.js';

const h = (name: string, value: string): SipHeader => ({ name, value });

describe('gateway - SIP header parsing', () => {
  it.each([
    ['sip:+15551234567@sip.example.com', '+15551234567'],
    ['<sip:+15551234567@sip.example.com>;tag=as4f2c', '+15551234567'],
    ['"Alice Smith" <sip:+15551234567@10.0.0.1:5061;transport=tls>;tag=1', '+15551234567'],
    ['Alice <sips:+442071838750@pstn.example.com>', '+442071838750'],
    ['sip:+15551234567@sip.example.com;tag=abc', '+15551234567'],
    ['tel:+1-555-123-4567', '+15551234567'],
    ['<tel:+1.555.123.4567;ext=12>;tag=x', '+15551234567'],
    ['<sip:+1(555)1234567;isub=9@host>', '+15551234567'],
    ['sip:%2B15551234567@sip.example.com', '+15551234567'],
    ['SIP:+15551234567@HOST', '+15551234567'],
  ])('reads %s as %s', (value, e164) => {
    expect(phoneFromAddress(value)).toBe(e164);
  });

  it('reads digits without + as an international number when libphonenumber finds it possible', () => {
    expect(phoneFromUri('sip:15551234567@trunk.example.com')).toBe('+15551234567');
    expect(phoneFromUri('sip:0015551234567@trunk.example.com')).toBe('+15551234567');
    expect(phoneFromUri('sip:442071838750@trunk.example.com')).toBe('+442071838750');
    // A short extension or a number too long for its country code is no phone number.
    expect(phoneFromUri('sip:123@pbx.example.com')).toBeNull();
    expect(phoneFromUri('sip:1555123456789012@trunk.example.com')).toBeNull();
  });

  it.each([
    'sip:anonymous@anonymous.invalid',
    '"Anonymous" <sip:anonymous@anonymous.invalid>;tag=1',
    'sip:alice@example.com',
    'sip:+1@host',
    'sip:+0123456789@host',
    'sip:+1555123456789012@host',
    'sip:%ZZ@host',
    'https://example.com/+15551234567',
    '',
    '<>',
  ])('finds no phone number in %j', (value) => {
    expect(phoneFromAddress(value)).toBeNull();
  });

  it('finds From, To and Call-ID whatever the case of their names, and their compact forms', () => {
    expect(
      parseSipHeaders([
        h('FROM', '<sip:+15555550142@sip.twilio.com>;tag=1'),
        h('to', 'sip:+15555550199@sip.api.openai.com'),
        h('call-id', ' 03782086-4ce9@sip.twilio.com '),
      ]),
    ).toMatchObject({
      from: '+15555550142',
      to: '+15555550199',
      sipCallId: '03782086-4ce9@sip.twilio.com',
    });
    expect(
      parseSipHeaders([h('f', 'sip:+15555550142@a'), h('t', 'sip:+15555550199@b'), h('i', 'x1')]),
    ).toMatchObject({ from: '+15555550142', to: '+15555550199', sipCallId: 'x1' });
  });

  it('takes the first of repeated headers', () => {
    const parsed = parseSipHeaders([
      h('From', 'sip:+15555550142@a'),
      h('From', 'sip:+15555550143@a'),
      h('X-Tenant', 'first'),
      h('x-tenant', 'second'),
    ]);
    expect(parsed.from).toBe('+15555550142');
    expect(parsed.custom).toEqual({ 'X-Tenant': 'first' });
  });

  it('keeps every X- header and only those; X-Agent-Id is trimmed and read in any case', () => {
    const parsed = parseSipHeaders([
      h('Via', 'SIP/2.0/TLS 10.0.0.1'),
      h('From', 'sip:+15555550142@a'),
      h('X-Agent-Id', ' 7d9f8c6b-0000-4000-8000-000000000001 '),
      h('x-campaign', 'spring'),
      h('X-Empty', ''),
      h('User-Agent', 'Twilio Gateway'),
    ]);
    expect(parsed.custom).toEqual({
      'X-Agent-Id': ' 7d9f8c6b-0000-4000-8000-000000000001 ',
      'x-campaign': 'spring',
      'X-Empty': '',
    });
    expect(parsed.agentId).toBe('7d9f8c6b-0000-4000-8000-000000000001');
    expect(parseSipHeaders([h('x-agent-ID', 'a1')]).agentId).toBe('a1');
    expect(parseSipHeaders([h('X-Agent-Id', '  ')]).agentId).toBeNull();
  });

  it('reads absent headers as null, never throwing', () => {
    expect(parseSipHeaders([])).toEqual({
      from: null,
      to: null,
      sipCallId: null,
      custom: {},
      agentId: null,
      ourCallId: null,
    });
  });

  it('reads our call id from X-Call-Id (any case), trimmed', () => {
    const parsed = parseSipHeaders([
      { name: 'x-call-id', value: ' 6f1c2a9e-0b7d-4c1e-9a43-2d5f8e7b1c30 ' },
    ]);
    expect(parsed.ourCallId).toBe('6f1c2a9e-0b7d-4c1e-9a43-2d5f8e7b1c30');
    expect(parsed.custom).toEqual({ 'x-call-id': ' 6f1c2a9e-0b7d-4c1e-9a43-2d5f8e7b1c30 ' });
  });
});
