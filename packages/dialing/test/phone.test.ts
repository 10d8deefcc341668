import { describe, expect, it } from 'vitest';

import { parsePhone } from '../src/phone.js';

describe('parsePhone', () => {
  it.each([
    ['+14155550100', '+14155550100'],
    ['+1 (415) 555-0100', '+14155550100'],
    ['+1.415.555.0100', '+14155550100'],
    ['  +1-415-555-0100  ', '+14155550100'],
    ['+44 20 7183 8750', '+442071838750'],
    ['+44 (0)20 7183 8750', '+442071838750'],
    ['+49 30/1234567', '+49301234567'],
    // The fictional +1 555 numbers of the seed and the simulators (see parsePhone's TSDoc).
    ['+15555550142', '+15555550142'],
  ])('dialing - parses %j to %s', (raw, e164) => {
    expect(parsePhone('to', raw)).toEqual({ ok: true, e164 });
  });

  it.each([
    ['', /to is required/],
    ['   ', /to is required/],
    ['4155550100', /international format/],
    ['(415) 555-0100', /international format/],
    ['0044 20 7183 8750', /international format/],
    ['+', /no digits/],
    ['+ - ( )', /no digits/],
    ['+1 415 555 0100 ext. 12', /only digits/],
    ['+14155550100x12', /only digits/],
    ['+1415555010a', /only digits/],
    ['+1 415 555 0100;', /only digits/],
    ['++14155550100', /only digits/],
    ['+4420718', /too short for a number with country calling code \+44/],
    ['+12', /too short/],
    ['+1415555010000', /too long for a number with country calling code \+1/],
    ['+999123456', /unknown country calling code/],
    ['+0123456789', /unknown country calling code/],
    [`+1${'0'.repeat(80)}`, /too long to be a phone number/],
  ])('dialing - refuses %j: %s', (raw, message) => {
    const result = parsePhone('to', raw);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issue.field).toBe('to');
    expect(result.issue.code).toBe('invalid_phone');
    expect(result.issue.message).toMatch(message);
  });

  it('dialing - names the field it was given and never echoes the number', () => {
    const result = parsePhone('from', '+4420718');
    expect(result).toMatchObject({ ok: false, issue: { field: 'from' } });
    if (!result.ok) expect(result.issue.message).not.toContain('4420718');
  });

  it('dialing - refuses a value that is not a string (untyped JSON input)', () => {
    expect(parsePhone('to', 14155550100 as unknown as string)).toMatchObject({
      ok: false,
      issue: { field: 'to', code: 'invalid_phone' },
    });
  });
});
