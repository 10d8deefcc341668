import { describe, expect, it } from 'vitest';

import { LoopSleep } from '../src/domain/loop-sleep.js';

const elapsed = async (run: () => Promise<void>) => {
  const t0 = performance.now();
  await run();
  return performance.now() - t0;
};

describe('LoopSleep', () => {
  it('sleeps its time, ends early on wake, and remembers a wake that came while busy', async () => {
    const sleep = new LoopSleep(new AbortController().signal);
    expect(await elapsed(() => sleep.sleep(30))).toBeGreaterThanOrEqual(25);
    const woken = elapsed(() => sleep.sleep(5_000));
    sleep.wake();
    expect(await woken).toBeLessThan(1_000);
    // Woken while "busy" (not sleeping): the next sleep returns at once, until cleared.
    expect(await elapsed(() => sleep.sleep(5_000))).toBeLessThan(1_000);
    sleep.clear();
    expect(await elapsed(() => sleep.sleep(30))).toBeGreaterThanOrEqual(25);
  });

  it('an interrupt or an aborted signal ends the sleep without marking work', async () => {
    const abort = new AbortController();
    const sleep = new LoopSleep(abort.signal);
    const cut = elapsed(() => sleep.sleep(5_000));
    sleep.interrupt();
    expect(await cut).toBeLessThan(1_000);
    expect(await elapsed(() => sleep.sleep(30))).toBeGreaterThanOrEqual(25);
    abort.abort();
    expect(await elapsed(() => sleep.sleep(5_000))).toBeLessThan(1_000);
  });
});
