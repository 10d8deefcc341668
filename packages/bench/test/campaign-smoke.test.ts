/**
 * The campaign bench end to end, small: a real campaign-scheduler process, the machine's NATS
 * and PostgreSQL, the Twilio simulator, and the report files. Checks what must hold on any
 * machine (every contact dialed once, the cap, never faster than the pace) and the report's
 * shape; the achieved pace itself depends on the machine (`pnpm bench campaign` reports it).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { runCampaignBench, type CampaignBenchResult } from '../src/campaign/campaign-bench.js';
import { writeCampaignResults } from '../src/campaign/campaign-report.js';

const CONTACTS = 60;
const CAP = 8;

describe('campaign bench (smoke)', () => {
  let result: CampaignBenchResult;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bench-campaign-'));
    result = await runCampaignBench({
      contacts: CONTACTS,
      callsPerMinute: 1_200,
      cap: CAP,
      replicas: 1,
      ringMs: 3_000,
    });
  }, 120_000);

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('dials every contact once, never over the cap nor faster than the pace', () => {
    expect(result.dials).toEqual({
      contacts: CONTACTS,
      dialedOnce: CONTACTS,
      dialedTwiceOrMore: 0,
      extraCalls: 0,
      lost: 0,
      strangers: 0,
    });
    expect(result.contactStatuses).toEqual({ completed: CONTACTS });
    expect(result.concurrency.maxOverlapAtTwilio).toBeGreaterThan(0);
    expect(result.concurrency.maxOverlapAtTwilio).toBeLessThanOrEqual(CAP);
    expect(result.concurrency.maxSampledDialing).toBeLessThanOrEqual(CAP);
    expect(result.concurrency.dbSamples).toBeGreaterThan(0);
    expect(result.pace.calls).toBe(CONTACTS);
    // Never faster: the span of the starts is at least the pace's, less one call's lateness.
    expect(result.pace.spanMs).toBeGreaterThan((CONTACTS - 1) * 50 - 500);
    expect(result.verdict.failures.filter((f) => !f.includes('under 90 %'))).toEqual([]);
    expect(result.latencyMs.intakeToDial?.count).toBe(CONTACTS);
    expect(result.latencyMs.endToFinal?.count).toBe(CONTACTS);
  });

  it('writes the JSON and markdown report', async () => {
    const files = await writeCampaignResults(result, dir);
    expect(files.json).toMatch(/-campaign-60\.json$/);
    const json = JSON.parse(await readFile(files.json, 'utf8')) as Record<string, unknown>;
    expect(json).toMatchObject({ kind: 'campaign', dials: { lost: 0 } });
    expect(json.definitions).toBeDefined();
    const md = await readFile(files.markdown, 'utf8');
    expect(md).toContain('# Campaign benchmark: 60 contacts at 1200 calls/min, cap 8');
    expect(md).toContain('achieved pace');
  });
});
