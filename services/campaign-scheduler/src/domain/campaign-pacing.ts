/** Pacing of a campaign's call starts by its `callsPerMinute`. Pure. */

/**
 * How far behind its grid a campaign may catch up (ms): slots this much older than now are
 * dropped. It covers a runner pass that was late (a loaded machine, a slow query) without a
 * burst after the campaign waited (at its cap, outside its windows, paused): however late the
 * starts, a second never holds more than the pace's starts plus this many ms worth.
 */
export const CATCH_UP_MS = 500;

/** Where the runner stands on a campaign's grid at `now`. */
export interface DueSlots {
  /** Slots due at or before `now` (at least 1). */
  readonly due: number;
  /** The first due slot (the grid's anchor for {@link afterSlots}). */
  readonly first: Date;
  /** Ms between two slots: `60 000 / callsPerMinute`. */
  readonly intervalMs: number;
}

/** Ms between two starts of a campaign; a pace below one a minute counts as one a minute. */
export function slotInterval(callsPerMinute: number): number {
  return 60_000 / Math.max(1, callsPerMinute);
}

/**
 * The slots due at `now` when the campaign's next slot is `slot` (null: now), or null when the
 * slot is still ahead. Starts keep to a grid of `60 000 / callsPerMinute` ms, so a runner that
 * looks late (a busy pass) starts every slot it missed at once and the pace does not drift; one
 * that was idle or far behind catches up by at most {@link CATCH_UP_MS} or half an interval,
 * whichever is more (slow campaigns: one start, the next no sooner than half an interval later).
 */
export function dueSlots(slot: Date | null, now: Date, callsPerMinute: number): DueSlots | null {
  const intervalMs = slotInterval(callsPerMinute);
  const t = now.getTime();
  if (slot && slot.getTime() > t) return null;
  const oldest = t - Math.max(CATCH_UP_MS, intervalMs / 2);
  const first = slot ? Math.max(slot.getTime(), oldest) : t;
  return {
    due: Math.floor((t - first) / intervalMs) + 1,
    first: new Date(first),
    intervalMs,
  };
}

/** The campaign's next slot once `taken` of the due slots were started. */
export function afterSlots(slots: DueSlots, taken: number): Date {
  return new Date(slots.first.getTime() + taken * slots.intervalMs);
}
