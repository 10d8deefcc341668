import { describe, expect, it } from 'vitest';

import { maxPassing, offered, stopReason } from '../src/load/sweep.js';
import type { LoadRunResult } from '../src/results.js';

/** The fields of a run the sweep's decisions read. */
function run(
  calls: number,
  o: { pass: boolean; limited?: boolean; frameRate?: number | null; bridged?: number },
): LoadRunResult {
  return {
    settings: { calls },
    calls: { placed: calls, bridged: o.bridged ?? calls },
    generator: { limited: o.limited ?? false, callerFrameRate: o.frameRate ?? 1 },
    criteria: { pass: o.pass },
  } as unknown as LoadRunResult;
}

describe('the sweep over N', () => {
  it('goes on after one failed level, and stops after two in a row with the generator keeping pace', () => {
    const a = run(10, { pass: false });
    expect(stopReason(a)).toBeNull();
    const b = run(50, { pass: true });
    expect(stopReason(b, a)).toBeNull();
    const c = run(100, { pass: false });
    expect(stopReason(c, b)).toBeNull();
    expect(stopReason(run(150, { pass: false }), c)).toMatch(/N=100 and N=150 failed/);
  });

  it('stops when the generator could not offer the load: larger N would measure the generator', () => {
    const r = run(250, { pass: true, limited: true, frameRate: 0.84 });
    expect(offered(r)).toBe(false);
    expect(stopReason(r)).toMatch(/sent only 84 %/);
  });

  it('stops when calls were not bridged', () => {
    expect(stopReason(run(50, { pass: true, bridged: 40 }))).toMatch(/only 40 of 50/);
  });

  it('the largest passing N counts only runs whose load was offered', () => {
    const runs = [
      run(10, { pass: false }),
      run(50, { pass: true }),
      run(100, { pass: true, limited: true, frameRate: 0.99 }),
      run(150, { pass: true, limited: true, frameRate: 0.9 }),
    ];
    expect(maxPassing(runs)).toBe(100);
    expect(maxPassing([run(10, { pass: false })])).toBeNull();
  });
});
