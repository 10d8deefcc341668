/**
 * Campaign-runner helpers over the dialer's harness: campaigns and contacts inserted with Prisma
 * (the gateway's API writes the same rows), schedulers with fast campaign timing, and the
 * campaign events as a subscriber sees them.
 */
import type { Subscription } from '@nats-io/transport-node';

import { campaignEventSchema, type CampaignEvent } from '@app/contracts';
import type { Prisma } from '@app/db';
import { captureLogs } from '@app/platform/testing';

import { twilioDialer } from '../../src/adapters/twilio-dialer.js';
import {
  startScheduler,
  type CampaignRunnerSettings,
  type DialerSettings,
  type RunningScheduler,
} from '../../src/scheduler.js';
import { MORE_NUMBERS, OUR_NUMBER, waitFor, type Harness, type SimCall } from './harness.js';

export const FROM_POOL = [OUR_NUMBER, ...MORE_NUMBERS];

export const FAST_CAMPAIGN: CampaignRunnerSettings = {
  pollIntervalMs: 50,
  progressIntervalMs: 300,
  republishAfterMs: 500,
};

/** A callee number of a test block: `+1555<block><i>`. */
export function num(block: number, i: number): string {
  return `+1555${String(block).padStart(4, '0')}${String(i).padStart(3, '0')}`;
}

/** Starts a replica with fast campaign timing; the caller stops it. */
export async function startReplica(
  h: Harness,
  pod: string,
  overrides: Partial<DialerSettings> = {},
  campaign: Partial<CampaignRunnerSettings> = {},
): Promise<RunningScheduler> {
  const { accountSid, authToken } = h.sims.credentials.twilio;
  const settings = h.settings({ maxAttempts: 1, ...overrides });
  return startScheduler({
    nc: h.ns.nc,
    names: h.names,
    prisma: h.prisma,
    dialer: twilioDialer({
      accountSid,
      authToken,
      apiBaseUrl: h.twilioUrl,
      timeoutMs: Math.floor(settings.reclaimAfterMs / 2),
    }),
    settings,
    campaign: { ...FAST_CAMPAIGN, ...campaign },
    pod,
    log: captureLogs().log,
  });
}

export interface CampaignSpec {
  block: number;
  contacts: number;
  status?: 'draft' | 'running' | 'paused';
  callsPerMinute?: number;
  maxConcurrentCalls?: number;
  fromNumbers?: string[];
  callingWindows?: Prisma.InputJsonValue;
  timezone?: string;
  endAt?: Date;
  /** Per-contact extras by index. */
  contact?: (i: number) => { timezone?: string; name?: string };
}

/** Inserts a campaign and its contacts (`+1555<block><i>`, variables `{ ref: "c<i>" }`). */
export async function createCampaign(h: Harness, spec: CampaignSpec): Promise<string> {
  const campaign = await h.prisma.campaign.create({
    data: {
      name: `campaign ${spec.block}`,
      agentId: h.agentId,
      fromNumbers: spec.fromNumbers ?? FROM_POOL,
      callsPerMinute: spec.callsPerMinute ?? 1_200,
      maxConcurrentCalls: spec.maxConcurrentCalls ?? 10,
      callingWindows: spec.callingWindows ?? [],
      timezone: spec.timezone ?? 'UTC',
      status: spec.status ?? 'running',
      ...(spec.endAt ? { endAt: spec.endAt } : {}),
    },
  });
  await h.prisma.campaignContact.createMany({
    data: Array.from({ length: spec.contacts }, (_, i) => ({
      campaignId: campaign.id,
      phone: num(spec.block, i),
      variables: { ref: `c${i}` },
      ...spec.contact?.(i),
    })),
  });
  return campaign.id;
}

export async function contactsByStatus(
  h: Harness,
  campaignId: string,
): Promise<Record<string, number>> {
  const rows = await h.prisma.campaignContact.groupBy({
    by: ['status'],
    where: { campaignId },
    _count: true,
  });
  return Object.fromEntries(rows.map((r) => [r.status, r._count]));
}

/** Waits until the campaign has this status. */
export async function waitForCampaign(
  h: Harness,
  campaignId: string,
  status: string,
  timeoutMs = 30_000,
): Promise<void> {
  await waitFor(async () => {
    const c = await h.prisma.campaign.findUniqueOrThrow({ where: { id: campaignId } });
    return c.status === status ? true : undefined;
  }, timeoutMs);
}

/** The simulator's calls to one block's numbers, oldest first. */
export async function callsOf(h: Harness, block: number): Promise<SimCall[]> {
  const prefix = num(block, 0).slice(0, -3);
  return (await h.simCalls()).filter((c) => c.to.startsWith(prefix));
}

/** The most calls live at the same time at the simulator. */
export function maxOverlap(calls: readonly SimCall[]): number {
  const edges = calls.flatMap((c) => [
    { at: c.createdMs, d: 1 },
    { at: c.endMs ?? Number.POSITIVE_INFINITY, d: -1 },
  ]);
  edges.sort((a, b) => a.at - b.at || a.d - b.d);
  let live = 0;
  let max = 0;
  for (const e of edges) max = Math.max(max, (live += e.d));
  return max;
}

/** Collects a campaign's events (core subscription on `campaigns.<id>.>`). */
export function collectEvents(
  h: Harness,
  campaignId: string,
): { events: Array<CampaignEvent & { atMs: number }>; sub: Subscription } {
  const events: Array<CampaignEvent & { atMs: number }> = [];
  const sub = h.ns.nc.subscribe(h.names.subjects.campaignEventsOf(campaignId), {
    callback: (err, msg) => {
      if (err) return;
      const parsed = campaignEventSchema.safeParse(msg.json());
      if (parsed.success) events.push({ ...parsed.data, atMs: Date.now() });
    },
  });
  return { events, sub };
}
