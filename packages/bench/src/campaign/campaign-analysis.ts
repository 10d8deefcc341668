/**
 * What a campaign run did, from the Twilio simulator's call log (its own clock): the pace the
 * calls were started at, the most live at once, and which contacts were dialed never or more
 * than once. Pure.
 */

/** An outbound call as the simulator logged it. */
export interface LoggedCall {
  to: string;
  /** When the simulator created it (epoch ms). */
  createdMs: number;
  /** When it ended (epoch ms); null while live. */
  endMs: number | null;
  status: string;
}

export interface PaceFigures {
  /** Calls started, first to last. */
  calls: number;
  spanMs: number;
  /** `(calls - 1) / span`, per minute; null for fewer than two calls. */
  perMinute: number | null;
  meanGapMs: number | null;
  /** The most calls started within any 1 s, and within any 60 s. */
  busiestSecond: number;
  busiestMinute: number;
}

export interface DialFigures {
  contacts: number;
  /** Contacts dialed exactly once. */
  dialedOnce: number;
  /** Contacts dialed more than once, and the calls beyond the first. */
  dialedTwiceOrMore: number;
  extraCalls: number;
  /** Contacts never dialed. */
  lost: number;
  /** Calls to numbers not in the campaign (must be 0). */
  strangers: number;
}

/** The most of `startsMs` (ascending) within any `windowMs`. */
export function maxInWindow(startsMs: readonly number[], windowMs: number): number {
  let max = 0;
  let from = 0;
  for (let to = 0; to < startsMs.length; to++) {
    while ((startsMs[to] as number) - (startsMs[from] as number) >= windowMs) from++;
    max = Math.max(max, to - from + 1);
  }
  return max;
}

/** The most calls live at the same instant (a call still live counts to the end). */
export function maxOverlap(calls: readonly LoggedCall[]): number {
  const edges = calls.flatMap((c) => [
    { at: c.createdMs, d: 1 },
    { at: c.endMs ?? Number.POSITIVE_INFINITY, d: -1 },
  ]);
  // Ends before starts at the same ms: a call that ended as another began is not overlap.
  edges.sort((a, b) => a.at - b.at || a.d - b.d);
  let live = 0;
  let max = 0;
  for (const e of edges) max = Math.max(max, (live += e.d));
  return max;
}

export function paceOf(calls: readonly LoggedCall[]): PaceFigures {
  const starts = calls.map((c) => c.createdMs).sort((a, b) => a - b);
  const n = starts.length;
  const spanMs = n > 0 ? (starts[n - 1] as number) - (starts[0] as number) : 0;
  const meanGapMs = n > 1 && spanMs > 0 ? spanMs / (n - 1) : null;
  return {
    calls: n,
    spanMs,
    perMinute: meanGapMs === null ? null : 60_000 / meanGapMs,
    meanGapMs,
    busiestSecond: maxInWindow(starts, 1_000),
    busiestMinute: maxInWindow(starts, 60_000),
  };
}

export function dialsOf(calls: readonly LoggedCall[], contacts: readonly string[]): DialFigures {
  const wanted = new Set(contacts);
  const perNumber = new Map<string, number>();
  let strangers = 0;
  for (const c of calls) {
    if (!wanted.has(c.to)) strangers += 1;
    else perNumber.set(c.to, (perNumber.get(c.to) ?? 0) + 1);
  }
  let dialedOnce = 0;
  let dialedTwiceOrMore = 0;
  let extraCalls = 0;
  for (const n of perNumber.values()) {
    if (n === 1) dialedOnce += 1;
    else {
      dialedTwiceOrMore += 1;
      extraCalls += n - 1;
    }
  }
  return {
    contacts: wanted.size,
    dialedOnce,
    dialedTwiceOrMore,
    extraCalls,
    lost: wanted.size - perNumber.size,
    strangers,
  };
}
