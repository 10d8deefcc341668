/** Pacing of a campaign's call starts by its `callsPerMinute`. Pure. */

/**
 * The pacing slot after a start at `now` whose slot was `slot`: starts keep to a grid of
 * `60 000 / callsPerMinute` ms, so a runner that starts a little late (a busy pass) does not
 * slow the campaign down; one that was idle or far behind catches up by at most half an
 * interval. Two starts are never closer than half an interval, and no minute holds more than
 * `callsPerMinute + 1`.
 */
export function nextSlot(slot: Date | null, now: Date, callsPerMinute: number): Date {
  const interval = 60_000 / Math.max(1, callsPerMinute);
  const anchored = (slot ?? now).getTime() + interval;
  return new Date(Math.max(anchored, now.getTime() + interval / 2));
}
