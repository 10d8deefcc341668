/**
 * The bench harness end to end, small: the real gateway and call-bridge processes against the
 * machine's NATS and PostgreSQL, two greeting-only calls at real-time pacing, the webhook and
 * event-path benches, and the report files. Checks the shape and that every figure is finite and
 * plausible, not the figures themselves (those depend on the machine).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { writeResults } from '../src/report/write-results.js';
import type { SuiteResult } from '../src/results.js';
import { runSuite } from '../src/suite.js';

const finite = (v: number | null | undefined) => typeof v === 'number' && Number.isFinite(v);

describe('bench harness (smoke)', () => {
  let result: SuiteResult;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bench-smoke-'));
    result = await runSuite({ mode: 'smoke', pin: false });
  }, 120_000);

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('bridges every simulated call and reads the bridge`s CPU, memory and loop delay', () => {
    const [run] = result.sweep.runs;
    expect(result.sweep.runs).toHaveLength(1);
    expect(run?.calls).toMatchObject({ placed: 2, bridged: 2, ended: 2 });
    const bridge = run!.bridge;
    // A call cannot use more than a whole core: 60 CPU-seconds per call-minute.
    expect(bridge.cpuSecPerCallMinute).toBeGreaterThan(0);
    expect(bridge.cpuSecPerCallMinute).toBeLessThan(60);
    expect(bridge.rssWindowMiB).toBeGreaterThan(10);
    expect(bridge.rssWindowMiB).toBeLessThan(4_096);
    expect(finite(bridge.loopDelayMs?.p99)).toBe(true);
    expect(run!.generator.loopDelayMs.p99).toBeGreaterThanOrEqual(0);
  });

  it('measures forwarding both ways, end to end, and set-up with finite, plausible figures', () => {
    const run = result.sweep.runs[0]!;
    expect(run.frames.callerToModel).toBeGreaterThan(0);
    expect(run.frames.modelToCaller).toBeGreaterThan(0);
    for (const h of [run.forwardLatencyMs.callerToModel, run.forwardLatencyMs.modelToCaller]) {
      expect(h?.count).toBeGreaterThan(0);
      expect(h?.p50).toBeGreaterThanOrEqual(0);
      expect(h?.p99).toBeGreaterThanOrEqual(h!.p50);
      expect(h?.p99).toBeLessThan(1_000);
    }
    const e2e = run.endToEndMs.modelToCallerRun;
    expect(e2e?.count).toBe(run.frames.modelToCaller);
    expect(e2e?.max).toBeLessThan(5_000);
    expect(run.frames.unmatched).toBe(0);
    expect(run.setup.toSessionUpdateMs?.count).toBe(2);
    expect(run.setup.toSessionUpdateMs?.max).toBeLessThan(10_000);
    expect(run.setup.toFirstAudioMs?.p50).toBeGreaterThan(run.setup.firstAudioOverheadMs!.p50);
  });

  it('measures webhook throughput and the event path to PostgreSQL', () => {
    const [level] = result.webhook!.levels;
    expect(level?.requests).toBeGreaterThan(0);
    expect(level?.errors).toBe(0);
    expect(level?.perSec).toBeGreaterThan(0);
    const events = result.eventPath!;
    expect(events.toRowMs?.count).toBe(events.events);
    expect(events.toRowMs?.p50).toBeGreaterThanOrEqual(events.publishAckMs!.p50);
    expect(events.burst.rowsPerSec).toBeGreaterThan(0);
  });

  it('writes the JSON, a markdown report naming the machine, and a PNG chart', async () => {
    const files = await writeResults(result, dir);
    const json = JSON.parse(await readFile(files.json, 'utf8')) as SuiteResult;
    expect(json.sweep.runs[0]?.settings.calls).toBe(2);
    const md = await readFile(files.markdown, 'utf8');
    expect(md).toContain(result.machine.cpuModel);
    expect(md).toContain('## Against the targets of issue 5');
    const png = await readFile(files.chart);
    expect(png.subarray(1, 4).toString()).toBe('PNG');
  });
});
