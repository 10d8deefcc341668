/**
 * The masked form of a phone number that retention, erasure and the audit log store instead of
 * the number: `+`, the first two digits, `***`, the last two (`+14155550100` -> `+14***00`).
 *
 * The same rule is the SQL function `mask_phone_numbers` (migration
 * `20261201040000_audit_append_only_and_retention`), which the database applies to every audit
 * row on insert and the retention job applies to call records; this module is its TypeScript
 * twin for values the gateway writes or answers itself. A masked number holds `*`, so it is
 * never a valid E.164 number and never matches a lookup by number; masking it again changes
 * nothing. Two digits either side keep the country (roughly) and let a person recognise their
 * own number, without the other 3 to 11 digits that make it identifying, nor its length.
 *
 * Logs mask with `@app/platform`'s `maskPhone` (`+1415*****34`), which keeps more (area code,
 * length) to debug a live system with; data kept past its retention or erasure keeps less.
 */

/** `+`, 7 to 15 digits, not followed by a digit: the E.164 shapes the SQL function masks. */
const E164_IN_TEXT = /\+([1-9]\d)\d{3,11}(\d{2})(?!\d)/g;

/** Every E.164-looking number in `text`, masked. */
export function maskPhoneNumbers(text: string): string {
  return text.replace(E164_IN_TEXT, '+$1***$2');
}
