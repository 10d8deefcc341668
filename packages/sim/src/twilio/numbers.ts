/**
 * Accounts, the numbers they own (with their voice webhook) and how each called number behaves
 * when the simulator rings it.
 */
import type { Scenario } from '../scenario.js';

/** An account the simulator accepts credentials for. */
export interface SimAccount {
  /** `AC` + 32 hex. */
  sid: string;
  authToken: string;
  /** API keys (`SK…` + secret) usable with this account's SID in the path. @defaultValue `[]` */
  apiKeys?: Array<{ sid: string; secret: string }>;
  /**
   * A trial account may only call verified numbers (error 21219).
   * @defaultValue `false`
   */
  trial?: boolean;
  /** Verified caller IDs: allowed as `From`, and as `To` on a trial account. @defaultValue `[]` */
  verifiedNumbers?: string[];
  /**
   * Geo permissions: E.164 prefixes this account may not call, a country calling code
   * (`'+44'`) or any longer prefix (`'+1900'`). Creating a call to a matching `To` fails with
   * 21215 (twilio.md §5.4). SIP and `client:` addresses are not geo-checked.
   * @defaultValue `[]` (every destination allowed)
   */
  blockedPrefixes?: string[];
}

/** A number owned by an account. */
export interface NumberConfig {
  /** E.164. */
  number: string;
  accountSid: string;
  /** Where inbound calls are sent for TwiML. Required unless `sip`. */
  voiceUrl?: string;
  /** @defaultValue `'POST'` */
  voiceMethod?: 'POST' | 'GET';
  /** Status callback for inbound calls (only `completed` is sent, twilio.md §1.4). */
  statusCallback?: string;
  /** Elastic SIP Trunking: calls go straight to the SIP trunk target, no webhook (§6.1). */
  sip?: boolean;
}

/** How a called party (the `To` of an outbound call, or a `<Dial><Number>`) behaves. */
export interface Behaviour {
  /**
   * `human` answers; `busy` rejects (SIP 486); `no-answer` rings until the timeout; `machine`
   * answers as voicemail; `fail` fails (unreachable).
   */
  answer: 'human' | 'busy' | 'no-answer' | 'machine' | 'fail';
  /** How long it rings before answering or rejecting. @defaultValue `timing.ringMs` */
  ringMs?: number;
  /** What the answering person does on a `<Connect><Stream>`; none: silence until hang-up. */
  scenario?: Scenario;
}

const E164 = /^\+[1-9]\d{6,14}$/;

/** True for an E.164 number (`+` and 7–15 digits, no separators). */
export function isE164(n: string): boolean {
  return E164.test(n);
}

/** Valid `To`/`From` of a call: E.164, `client:name`, or a SIP URI (twilio.md §1.2). */
export function isCallAddress(n: string): boolean {
  return isE164(n) || /^client:[\w.@-]+$/.test(n) || /^sips?:[^\s]+$/.test(n);
}

/** The mutable registry behind `configureNumber` / `setBehaviour`. */
export class NumberRegistry {
  readonly #accounts = new Map<string, SimAccount>();
  readonly #numbers = new Map<string, NumberConfig>();
  readonly #behaviours = new Map<string, Behaviour>();

  constructor(accounts: readonly SimAccount[]) {
    for (const a of accounts) {
      if (!/^AC[0-9a-f]{32}$/i.test(a.sid)) {
        throw new RangeError(`account sid must be AC + 32 hex digits, got ${a.sid}`);
      }
      for (const p of a.blockedPrefixes ?? []) {
        if (!/^\+\d{1,14}$/.test(p)) {
          throw new RangeError(`blockedPrefixes: expected '+' and 1-14 digits, got ${p}`);
        }
      }
      this.#accounts.set(a.sid, a);
    }
  }

  account(sid: string): SimAccount | undefined {
    return this.#accounts.get(sid);
  }

  configure(n: NumberConfig): void {
    if (!isE164(n.number)) throw new RangeError(`number must be E.164, got ${n.number}`);
    if (!this.#accounts.has(n.accountSid)) {
      throw new RangeError(`unknown account ${n.accountSid}; list it in accounts`);
    }
    if (!n.sip && n.voiceUrl === undefined) {
      throw new RangeError(`number ${n.number} needs a voiceUrl or sip: true`);
    }
    this.#numbers.set(n.number, { ...n });
  }

  number(n: string): NumberConfig | undefined {
    return this.#numbers.get(n);
  }

  setBehaviour(n: string, b: Behaviour): void {
    this.#behaviours.set(n, { ...b });
  }

  /** The behaviour of a called party; unknown numbers answer as a human. */
  behaviour(n: string): Behaviour {
    return this.#behaviours.get(n) ?? { answer: 'human' };
  }

  /** Whether the account's geo permissions refuse a call to `to`. */
  geoBlocks(accountSid: string, to: string): boolean {
    if (!isE164(to)) return false;
    const blocked = this.#accounts.get(accountSid)?.blockedPrefixes ?? [];
    return blocked.some((p) => to.startsWith(p));
  }

  /** Whether `from` may be used as caller ID by the account: its own number or verified. */
  ownsCallerId(accountSid: string, from: string): boolean {
    const owned = this.#numbers.get(from);
    if (owned?.accountSid === accountSid) return true;
    return this.#accounts.get(accountSid)?.verifiedNumbers?.includes(from) ?? false;
  }
}
