/**
 * Fault injection: server-wide settings plus per-session/per-call overrides, so a test can make
 * one call misbehave while the others stay healthy. Counters (`*Errors`, `*RateLimits`,
 * `malformedEvents`) are consumed: each injected failure decrements the counter of the scope
 * it came from.
 */

/** What can go wrong. All fields optional in a {@link FaultSettings} patch. */
export interface FaultSettings {
  /** Latency added before every server event, in ms. @defaultValue 0 */
  eventDelayMs: number;
  /**
   * Drop the WebSocket (no close frame; the client sees code 1006) after this many
   * `response.output_audio.delta` events of a response. `null`: never.
   */
  dropSocketAfterAudioDeltas: number | null;
  /** The next N `response.create` (client or VAD) fail with an `error` event of type `server_error`. */
  wsServerErrors: number;
  /** The next N `response.create` fail with an `error` event `rate_limit_exceeded`. */
  wsRateLimits: number;
  /** The next N REST calls answer 500 `server_error`. */
  restServerErrors: number;
  /** The next N REST calls answer 429 `rate_limit_exceeded`. */
  restRateLimits: number;
  /**
   * The next N server events each go out preceded by one malformed frame, cycling through
   * invalid JSON, an object with no `type`, an unknown `type` (`response.bogus_event`) and a
   * binary frame. The real event still follows, so a robust client loses nothing.
   */
  malformedEvents: number;
  /**
   * Session lifetime in ms; at expiry the server sends `session_expired` and closes with 1001
   * (openai-realtime.md §9). @defaultValue 3 600 000 (60 minutes)
   */
  maxSessionMs: number;
}

export const DEFAULT_FAULTS: Readonly<FaultSettings> = Object.freeze({
  eventDelayMs: 0,
  dropSocketAfterAudioDeltas: null,
  wsServerErrors: 0,
  wsRateLimits: 0,
  restServerErrors: 0,
  restRateLimits: 0,
  malformedEvents: 0,
  maxSessionMs: 60 * 60 * 1_000,
});

type Counter =
  'wsServerErrors' | 'wsRateLimits' | 'restServerErrors' | 'restRateLimits' | 'malformedEvents';

/** The fault controller exposed as `sim.faults`. */
export class Faults {
  #server: FaultSettings = { ...DEFAULT_FAULTS };
  readonly #scoped = new Map<string, Partial<FaultSettings>>();

  /** Changes server-wide settings (merged into the current ones). */
  set(patch: Partial<FaultSettings>): void {
    this.#server = { ...this.#server, ...patch };
  }

  /** Overrides settings for one session (`sess_…`) or call (`rtc_…`). */
  setFor(id: string, patch: Partial<FaultSettings>): void {
    this.#scoped.set(id, { ...this.#scoped.get(id), ...patch });
  }

  /** Back to defaults, everywhere. */
  reset(): void {
    this.#server = { ...DEFAULT_FAULTS };
    this.#scoped.clear();
  }

  /** The effective settings for a session/call (its overrides first, then the server's). */
  get(...ids: Array<string | undefined>): FaultSettings {
    let out = { ...this.#server };
    for (const id of ids) {
      const scoped = id === undefined ? undefined : this.#scoped.get(id);
      if (scoped) out = { ...out, ...scoped };
    }
    return out;
  }

  /** Consumes one injected failure of `counter`; true if one was due. */
  take(counter: Counter, ...ids: Array<string | undefined>): boolean {
    for (const id of ids) {
      const scoped = id === undefined ? undefined : this.#scoped.get(id);
      const n = scoped?.[counter];
      if (scoped && n !== undefined && n > 0) {
        scoped[counter] = n - 1;
        return true;
      }
    }
    if (this.#server[counter] > 0) {
      this.#server[counter] -= 1;
      return true;
    }
    return false;
  }
}
