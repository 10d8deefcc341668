/**
 * Reading the SIP INVITE headers OpenAI forwards in `realtime.call.incoming` (openai-realtime.md
 * §6 step 2): who calls, which number was dialled, the SIP Call-ID and the `X-` headers a trunk
 * adds. Pure, no I/O. The values are untrusted caller data: nothing here throws on them, and a
 * value that is not what we expect reads as absent.
 */
import { parsePhoneNumberFromString } from 'libphonenumber-js';

/** One forwarded header, as in the webhook's `data.sip_headers`. */
export interface SipHeader {
  name: string;
  value: string;
}

/** What the gateway needs of an INVITE. */
export interface ParsedSipHeaders {
  /** The caller, E.164; null when the From header holds no phone number (e.g. `anonymous`). */
  from: string | null;
  /** The dialled number, E.164; null when the To header holds no phone number. */
  to: string | null;
  /** The SIP Call-ID; null when absent. */
  sipCallId: string | null;
  /**
   * Every `X-` header, by its name as received; the first of repeated ones. This is what the
   * bridge gets as the offer's `sipHeaders` (they carry routing hints such as `X-Agent-Id`).
   */
  custom: Record<string, string>;
  /** The `X-Agent-Id` header (any case), trimmed; null when absent or empty. */
  agentId: string | null;
  /**
   * The `X-Call-Id` header (any case), trimmed; null when absent or empty. Our dialer puts our
   * call id there when it dials OpenAI's SIP endpoint for an outbound call.
   */
  ourCallId: string | null;
}

const E164 = /^\+[1-9]\d{1,14}$/;

/**
 * The first value of header `name`, compared case-insensitively (RFC 3261 §7.3.1: header names
 * are case-insensitive). The compact forms of From and To (`f`, `t`) and of Call-ID (`i`) count
 * as the same header (§7.3.3).
 */
function header(headers: readonly SipHeader[], ...names: string[]): string | undefined {
  const wanted = names.map((n) => n.toLowerCase());
  return headers.find((h) => wanted.includes(h.name.trim().toLowerCase()))?.value;
}

/**
 * The URI inside a From/To value: between `<` and `>` when present (a display name may come
 * first, parameters such as `;tag=` after), else up to the first `;` (RFC 3261 §20.10: without
 * angle brackets, what follows `;` are header parameters).
 */
function addressUri(value: string): string {
  const bracketed = /<([^>]*)>/.exec(value);
  if (bracketed) return (bracketed[1] ?? '').trim();
  return (value.split(';')[0] ?? '').trim();
}

/**
 * The number of a `sip:`/`sips:`/`tel:` URI as E.164, or null.
 *
 * A `+` number must be E.164 once visual separators (`-`, `.`, `(`, `)`, spaces; RFC 3966) are
 * removed. Digits without `+` are read as an international number without its `+` (or with a
 * `00` prefix), as some trunks send them, and kept only when libphonenumber-js finds a country
 * calling code and a possible length for it; a national number (no country code) is not
 * guessed at.
 */
export function phoneFromUri(uri: string): string | null {
  const match = /^(?:sips?|tel):([^@]*)/i.exec(uri.trim());
  if (!match) return null;
  // The user part of a sip: URI, the number of a tel: one; user parameters (`;isub=`, `;ext=`)
  // are not part of the number.
  const userPart = (match[1] ?? '').split(';')[0] ?? '';
  let text: string;
  try {
    text = decodeURIComponent(userPart);
  } catch {
    return null;
  }
  const compact = text.replace(/[\s().-]/g, '');
  if (compact.startsWith('+')) return E164.test(compact) ? compact : null;
  if (!/^\d+$/.test(compact)) return null;
  const international = compact.startsWith('00') ? compact.slice(2) : compact;
  const parsed = parsePhoneNumberFromString(`+${international}`);
  return parsed?.isPossible() && E164.test(parsed.number) ? parsed.number : null;
}

/** The E.164 number of a From or To header value, or null. */
export function phoneFromAddress(value: string | undefined): string | null {
  return value === undefined ? null : phoneFromUri(addressUri(value));
}

/** Reads what the gateway routes and records a SIP call by. */
export function parseSipHeaders(headers: readonly SipHeader[]): ParsedSipHeaders {
  const custom: Record<string, string> = {};
  for (const { name, value } of headers) {
    const key = name.trim();
    if (!/^x-/i.test(key)) continue;
    // The first occurrence wins, compared case-insensitively, so a repeated header cannot
    // override the one the trunk put first.
    if (Object.keys(custom).some((k) => k.toLowerCase() === key.toLowerCase())) continue;
    custom[key] = value;
  }
  const agentId = header(headers, 'X-Agent-Id')?.trim();
  const ourCallId = header(headers, 'X-Call-Id')?.trim();
  const sipCallId = header(headers, 'Call-ID', 'i')?.trim();
  return {
    from: phoneFromAddress(header(headers, 'From', 'f')),
    to: phoneFromAddress(header(headers, 'To', 't')),
    sipCallId: sipCallId ? sipCallId : null,
    custom,
    agentId: agentId ? agentId : null,
    ourCallId: ourCallId ? ourCallId : null,
  };
}
