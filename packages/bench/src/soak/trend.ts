/**
 * Whether a series grows: the least-squares slope of value against time. A leak shows as a
 * steady slope once warm-up is over; collector sawtooth and noise average out over minutes.
 */
export interface Point {
  /** Seconds since the series began. */
  atSec: number;
  value: number;
}

/** Slope in value units per minute, or null with fewer than two distinct times. */
export function slopePerMinute(points: readonly Point[]): number | null {
  if (points.length < 2) return null;
  const mx = points.reduce((a, p) => a + p.atSec, 0) / points.length;
  const my = points.reduce((a, p) => a + p.value, 0) / points.length;
  const sxx = points.reduce((a, p) => a + (p.atSec - mx) ** 2, 0);
  if (sxx === 0) return null;
  const sxy = points.reduce((a, p) => a + (p.atSec - mx) * (p.value - my), 0);
  return (sxy / sxx) * 60;
}
