/**
 * The absolute clock both simulators stamp their logs with, so a test can compare what one side
 * sent with what the other side received (e.g. OpenAI's `speech_started` against the caller's
 * Twilio `clear`). `performance.timeOrigin + performance.now()` is monotonic within a process,
 * has sub-millisecond resolution and is in the same epoch as `Date.now()`.
 */

/** Now, in fractional ms since the Unix epoch. */
export function epochNowMs(): number {
  return performance.timeOrigin + performance.now();
}
