/**
 * X-Twilio-Signature, computed exactly as Twilio does for form-encoded and GET webhooks
 * (twilio.md §2.1): `base64(HMAC-SHA1(authToken, url + Σ sorted(name) name+value))`.
 *
 * Written here (not borrowed from the SDK) because it is what the simulator is tested on: the
 * conformance test checks every webhook we send with the official `twilio.validateRequest`.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** Form parameters of a webhook; a repeated key carries an array. */
export type WebhookParams = Readonly<Record<string, string | readonly string[]>>;

/**
 * The signature Twilio puts in `X-Twilio-Signature`.
 *
 * @param url - the full URL requested, query string included, exactly as sent.
 * @param params - the POST form parameters; pass `{}` for GET (they are already in the URL).
 */
export function twilioSignature(authToken: string, url: string, params: WebhookParams): string {
  // Plain `Array.sort()`: UTF-16 code-unit order, so `CallSid` < `CallStatus` < `Called` (§2.1).
  let data = url;
  for (const name of Object.keys(params).sort()) {
    const value = params[name];
    if (value === undefined) continue;
    if (typeof value === 'string') {
      data += name + value;
    } else {
      // Repeated keys: values de-duplicated and sorted, each appended as name+value (§2.1).
      for (const v of [...new Set(value)].sort()) data += name + v;
    }
  }
  return createHmac('sha1', authToken).update(Buffer.from(data, 'utf8')).digest('base64');
}

/** Constant-time check of a signature we received (e.g. in tests of our own receivers). */
export function isValidTwilioSignature(
  authToken: string,
  signature: string,
  url: string,
  params: WebhookParams,
): boolean {
  const expected = Buffer.from(twilioSignature(authToken, url, params));
  const actual = Buffer.from(signature);
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/**
 * Encodes params as Twilio sends them: `application/x-www-form-urlencoded`, keys in the same
 * ASCII-sorted order as the signature (twilio.md §1.1), repeated keys repeated.
 */
export function encodeForm(params: WebhookParams): string {
  const out = new URLSearchParams();
  for (const name of Object.keys(params).sort()) {
    const value = params[name];
    if (value === undefined) continue;
    for (const v of typeof value === 'string' ? [value] : value) out.append(name, v);
  }
  return out.toString();
}
