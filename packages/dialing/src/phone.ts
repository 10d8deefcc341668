/**
 * Phone numbers of a call request, parsed to E.164 with libphonenumber-js. Pure, no I/O.
 *
 * Only international input is accepted: `+`, the country calling code, then the number, in any
 * common formatting (`+1 (415) 555-0100`, `+44 20 7183 8750`, `+1.415.555.0100`). A national
 * number (`(415) 555-0100`, `020 7183 8750`) is refused, since a request does not say which
 * country it belongs to and guessing one could dial a stranger abroad.
 */
import {
  ParseError,
  parsePhoneNumberWithError,
  validatePhoneNumberLength,
  type PhoneNumber,
} from 'libphonenumber-js';

import { type ValidationIssue } from './types.js';

/** Result of {@link parsePhone}. */
export type ParsePhoneResult = { ok: true; e164: string } | { ok: false; issue: ValidationIssue };

/**
 * What may appear besides digits after the leading `+`: the visual separators of RFC 3966 and
 * of everyday writing. Anything else (letters, `;`, `ext.`) is refused here rather than dropped
 * by the parser, which silently ignores trailing text and extensions: a number we would dial must
 * be exactly what the caller wrote.
 */
const ALLOWED = /^\+[\d\s().\-/]*$/;

/** E.164: `+`, a country code that does not start with 0, at most 15 digits (ITU-T E.164 §6). */
const E164 = /^\+[1-9]\d{1,14}$/;

/** Longest input looked at; a phone number written with generous separators fits easily. */
const MAX_INPUT_LENGTH = 64;

function refuse(field: string, message: string): ParsePhoneResult {
  return { ok: false, issue: { field, code: 'invalid_phone', message } };
}

/**
 * Parses an international phone number to E.164.
 *
 * A number is accepted when its country calling code exists and its length is possible for that
 * country (libphonenumber-js `isPossible()`). The digit patterns of `isValid()` are deliberately
 * not checked: they refuse the fictional `+1 555 01xx` numbers the seed and the simulators use,
 * and the default (`min`) metadata only checks them for some countries anyway. The carrier
 * refuses an unassigned number when the call is placed.
 *
 * @param field - Name of the request field, used in the issue (`to`, `from`).
 * @param raw - What the caller sent.
 * @returns the E.164 number, or an `invalid_phone` issue saying why it is refused.
 */
export function parsePhone(field: string, raw: string): ParsePhoneResult {
  if (typeof raw !== 'string' || raw.trim() === '') {
    return refuse(field, `${field} is required: an international phone number like +14155550100`);
  }
  const text = raw.trim();
  if (text.length > MAX_INPUT_LENGTH) {
    return refuse(field, `${field} is too long to be a phone number (${text.length} characters)`);
  }
  if (!text.startsWith('+')) {
    return refuse(
      field,
      `${field} must be in international format: + and the country calling code, e.g. ` +
        '+14155550100 (a number without them cannot be dialled, its country is unknown)',
    );
  }
  if (!ALLOWED.test(text)) {
    return refuse(
      field,
      `${field} may contain only digits after the leading +, and the separators space - . ( ) /` +
        ' (extensions and letters are not supported)',
    );
  }
  if (!/\d/.test(text)) return refuse(field, `${field} is not a phone number: it has no digits`);

  let parsed: PhoneNumber;
  try {
    parsed = parsePhoneNumberWithError(text);
  } catch (error) {
    if (error instanceof ParseError) return refuse(field, parseErrorMessage(field, error.message));
    throw error;
  }
  const country = `+${parsed.countryCallingCode}`;
  switch (validatePhoneNumberLength(text)) {
    case undefined:
      break;
    case 'TOO_SHORT':
      return refuse(
        field,
        `${field} is too short for a number with country calling code ${country}`,
      );
    case 'TOO_LONG':
      return refuse(
        field,
        `${field} is too long for a number with country calling code ${country}`,
      );
    case 'INVALID_COUNTRY':
      return refuse(field, `${field} has an unknown country calling code`);
    case 'NOT_A_NUMBER':
      return refuse(field, `${field} is not a phone number`);
    default:
      return refuse(
        field,
        `${field} has ${parsed.nationalNumber.length} digits after ${country}, which is not a ` +
          'valid length for that country',
      );
  }
  if (!parsed.isPossible() || !E164.test(parsed.number)) {
    return refuse(field, `${field} is not a possible phone number for country code ${country}`);
  }
  return { ok: true, e164: parsed.number };
}

/** Messages for libphonenumber-js's `ParseError` codes (its README, "parsePhoneNumber()"). */
function parseErrorMessage(field: string, code: string): string {
  switch (code) {
    case 'INVALID_COUNTRY':
      return `${field} has an unknown country calling code after the +`;
    case 'TOO_SHORT':
      return `${field} is too short to be a phone number`;
    case 'TOO_LONG':
      return `${field} is too long to be a phone number`;
    case 'NOT_A_NUMBER':
    default:
      return `${field} is not a phone number`;
  }
}
