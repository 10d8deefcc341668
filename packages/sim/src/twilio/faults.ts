/**
 * Fault injection for the Twilio REST API, the counterpart of the OpenAI simulator's
 * `restRateLimits` (src/openai/faults.ts): counters are consumed as the faults fire.
 */

/** What can go wrong. All fields optional in a {@link TwilioFaults.set} patch. */
export interface TwilioFaultSettings {
  /**
   * The next N authenticated REST requests answer 429 / 20429 "Too Many Requests" (twilio.md
   * §5.4) without being processed. They do not count towards `limits.requestsPerSecond`.
   * @defaultValue 0
   */
  restRateLimits: number;
}

const DEFAULTS: Readonly<TwilioFaultSettings> = Object.freeze({ restRateLimits: 0 });

/** The fault controller exposed as `twilio.faults`. */
export class TwilioFaults {
  #settings: TwilioFaultSettings = { ...DEFAULTS };

  /** Changes settings (merged into the current ones). */
  set(patch: Partial<TwilioFaultSettings>): void {
    for (const [k, v] of Object.entries(patch)) {
      if (!(Number.isInteger(v) && v >= 0)) throw new RangeError(`${k} must be an integer >= 0`);
    }
    this.#settings = { ...this.#settings, ...patch };
  }

  /** The current settings (counters show what is left). */
  get(): TwilioFaultSettings {
    return { ...this.#settings };
  }

  reset(): void {
    this.#settings = { ...DEFAULTS };
  }

  /** Consumes one injected failure of `counter`; true if one was due. */
  take(counter: keyof TwilioFaultSettings): boolean {
    if (this.#settings[counter] <= 0) return false;
    this.#settings[counter] -= 1;
    return true;
  }
}
