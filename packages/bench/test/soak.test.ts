/**
 * The soak at CI scale (issue 10): 10 calls held for 36 s through the real gateway and
 * call-bridge processes, the machine's NATS and PostgreSQL and the simulators, calls replaced
 * as they end. Asserts what must hold on any machine: every call completes and is recorded,
 * no frame is lost, duplicated or dropped on either side, and the bridge's memory stays within
 * a generous bound. No timing threshold: CI shares two cores with other test files. The full
 * scale (100 calls, minutes) is `pnpm bench soak`; its result is in packages/bench/results/.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { runSoakBench } from '../src/soak/soak-bench.js';
import type { SoakReport } from '../src/soak/soak-report.js';
import { writeSoakResults } from '../src/soak/soak-report.js';

const CALLS = 10;
const HOLD_MS = 36_000;
/** One question and answer after the greeting: calls of ~12 s, each slot turning over ~3 times. */
const CALL_MS = 6_000;
/** Generous: a per-call leak of the bridge over ~30 calls shows, the collector's moods do not. */
const HEAP_GROWTH_LIMIT_KIB = 32 * 1_024;
const RSS_GROWTH_LIMIT_KIB = 256 * 1_024;

describe('soak (CI scale)', () => {
  let report: SoakReport;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bench-soak-'));
    report = await runSoakBench({
      calls: CALLS,
      holdMs: HOLD_MS,
      callMs: CALL_MS,
      gcEveryMs: 10_000,
      warmupCalls: 2,
      pin: false,
      command: 'vitest packages/bench/test/soak.test.ts',
    });
  }, 240_000);

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('holds N calls all along, replacing ended ones, and every call completes with a record', () => {
    const { calls } = report.result;
    expect(calls.failures).toEqual([]);
    // Calls of ~12 s held 36 s: every slot turned over at least once.
    expect(calls.placed).toBeGreaterThanOrEqual(CALLS * 2);
    expect(calls.completed).toBe(calls.placed);
    expect(calls.failed).toBe(0);
    expect(calls.liveDuringHold.min).toBe(CALLS);
    expect(calls.simulatorEnds).toEqual({ 'completed/caller-hangup': calls.placed });
    expect(calls.records).toEqual({ 'completed/caller-hangup': calls.placed });
  });

  it('loses, duplicates and drops no frame either way, counted on all three sides', () => {
    const { frames, calls } = report.result;
    // First, so a failure shows the counts of the calls that lost frames.
    expect(frames.lossyCalls).toEqual([]);
    expect(frames.accountedCalls).toBe(calls.placed);
    const c2m = frames.callerToModel;
    // Real-time callers: 50 frames a second each, for most of the hold.
    expect(c2m.sent).toBeGreaterThan(CALLS * 50 * (HOLD_MS / 1_000) * 0.5);
    expect(c2m).toMatchObject({ lost: 0, duplicated: 0 });
    expect(c2m.received).toBe(c2m.sent);
    expect(c2m.bridged).toBe(c2m.sent);
    const m2c = frames.modelToCaller;
    expect(m2c.uncutNeeded).toBeGreaterThan(0);
    expect(m2c).toMatchObject({ lost: 0, duplicated: 0 });
    expect(m2c.received).toBe(m2c.bridged);
    expect(frames.droppedByBridge).toBe(0);
    expect(frames.callsWithLoss).toBe(0);
  });

  it('keeps the bridge`s memory within a generous bound, measured after forced collections', () => {
    const m = report.result.memory;
    expect(m.gcSamples.length).toBeGreaterThanOrEqual(2);
    expect(m.start.heapUsedKiB).toBeGreaterThan(1_024);
    expect(m.end.heapUsedKiB - m.start.heapUsedKiB).toBeLessThan(HEAP_GROWTH_LIMIT_KIB);
    const peakRss = Math.max(...m.samples.map((s) => s.rssKiB));
    expect(peakRss - m.start.rssKiB).toBeLessThan(RSS_GROWTH_LIMIT_KIB);
    expect(Number.isFinite(m.rssSlopeKiBPerMin)).toBe(true);
    // Reported, not judged at this scale: the figures exist and are plausible.
    const loop = report.result.loopDelayMs;
    expect(loop.bridgeIntervalP99?.count).toBeGreaterThan(5);
    expect(loop.bridgeIntervalP99?.p50).toBeGreaterThanOrEqual(0);
  });

  it('records the CPU each process used over the hold', () => {
    const { cpu } = report.result;
    // 10 live calls keep every process busy, none beyond the machine's cores.
    for (const share of [cpu.bridge, cpu.gateway, cpu.generator]) {
      expect(share).toBeGreaterThan(0.005);
      expect(share).toBeLessThan(report.machine.cores + 0.5);
    }
    expect(cpu.bridgeInterval?.count).toBeGreaterThan(5);
    expect(cpu.bridgeInterval!.max).toBeGreaterThanOrEqual(cpu.bridgeInterval!.p50);
    expect(cpu.loadAverage.start).toBeGreaterThanOrEqual(0);
  });

  it('writes the JSON and markdown report', async () => {
    const files = await writeSoakResults(report, dir);
    expect(files.json).toMatch(/\d{4}-\d{2}-\d{2}-soak-10\.json$/);
    const json = JSON.parse(await readFile(files.json, 'utf8')) as SoakReport;
    expect(json).toMatchObject({ kind: 'soak', result: { settings: { calls: CALLS } } });
    const md = await readFile(files.markdown, 'utf8');
    expect(md).toContain('# Soak: 10 concurrent calls held 0.6 min');
    expect(md).toMatch(/\| every call completes +\| \d+ placed/);
    expect(md).toContain(report.machine.cpuModel);
    expect(md).toMatch(/## CPU\n\nShare of one core over the hold: bridge \d+ %/);
  });
});
