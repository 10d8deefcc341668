/**
 * The campaign runner of one replica: turns the due contacts of running campaigns into call
 * requests on `call-requests.campaign-scheduler` (one per contact, idempotency key
 * `campaign:<campaignId>:contact:<contactId>`), at the campaign's pace and under its live-call
 * cap, inside the contacts' calling windows. A pass claims every contact whose pacing slot came
 * up since the last (a batch when the pass was late), so a campaign keeps its pace at high
 * rates (20 calls/s) however long a pass takes, up to CATCH_UP_MS late (campaign-pacing.ts).
 * Each pass it also:
 *
 * - settles contacts whose call request reached a final status (frees their live-call place);
 * - publishes the request again for a contact left `dialing` without one (a runner that died
 *   between its claim and its publish): the same key and event id make that a no-op when the
 *   first publish did arrive, so no contact is lost and none is dialed twice;
 * - skips the pending contacts of campaigns past their `endAt`;
 * - completes a running campaign with no contact pending or dialing (`campaigns.<id>.completed`);
 * - publishes `campaigns.<id>.progress` at most every `progressIntervalMs` per campaign, across
 *   replicas: the event id is derived from the time bucket, so JetStream stores one per bucket.
 *
 * Paused and canceled campaigns start nothing; their calls in flight still settle.
 */
import type { JetStreamClient } from '@nats-io/jetstream';

import {
  callRequest,
  campaignEvent,
  publishCallRequest,
  publishEvent,
  uuidV5,
  type Names,
} from '@app/contracts';
import type { Logger } from '@app/platform';

import {
  contactRequestKey,
  type CampaignClaim,
  type CampaignStore,
  type ClaimedContact,
} from '../adapters/campaign-store.js';
import { LoopSleep } from '../domain/loop-sleep.js';

/** The origin token of the runner's call requests. */
export const CAMPAIGN_REQUEST_ORIGIN = 'campaign-scheduler';

export interface CampaignRunnerDeps {
  store: CampaignStore;
  js: JetStreamClient;
  names: Names;
  /** How often the runner looks at campaigns when nothing is due sooner (ms). */
  pollIntervalMs: number;
  /** Least time between two progress events of a campaign (ms). */
  progressIntervalMs: number;
  /** A `dialing` contact with no call request after this long is published again (ms). */
  republishAfterMs: number;
  log: Logger;
}

export interface CampaignRunner {
  /** Look at the campaigns now (a call ended, a request was recorded). */
  wake(): void;
  /** Stops after the current pass; what it claimed is published or left for a republish. */
  stop(): Promise<void>;
}

export function startCampaignRunner(deps: CampaignRunnerDeps): CampaignRunner {
  const { store, log } = deps;
  const abort = new AbortController();
  const lastProgress = new Map<string, number>();
  let lastHousekeeping = 0;
  const sleeper = new LoopSleep(abort.signal);
  const wake = () => sleeper.wake();

  async function publishRequest(contact: ClaimedContact): Promise<void> {
    const request = callRequest({
      to: contact.phone,
      ...(contact.from ? { from: contact.from } : {}),
      agentId: contact.agentId,
      variables: contact.variables,
      idempotencyKey: contactRequestKey(contact.campaignId, contact.contactId),
      campaignId: contact.campaignId,
      contactId: contact.contactId,
    });
    try {
      await publishCallRequest(deps.js, deps.names, CAMPAIGN_REQUEST_ORIGIN, request);
    } catch (err) {
      // The contact stays `dialing`; the republish pass sends it again.
      log.warn(
        { err, campaignId: contact.campaignId, contactId: contact.contactId },
        'publishing a campaign call request failed; it will be sent again',
      );
    }
  }

  async function publishCounts(campaignId: string, event: 'progress' | 'completed', now: number) {
    const counts = await store.counts(campaignId);
    const id =
      event === 'completed'
        ? uuidV5(`campaign:${campaignId}:completed`)
        : uuidV5(`campaign:${campaignId}:progress:${Math.floor(now / deps.progressIntervalMs)}`);
    await publishEvent(deps.js, deps.names, campaignEvent(event, { campaignId, counts }, { id }));
    return counts;
  }

  /** One pass over the campaigns; returns how long to sleep (ms). */
  async function pass(): Promise<number> {
    let sleepMs = deps.pollIntervalMs;
    await store.settleEnded();
    if (Date.now() - lastHousekeeping >= deps.pollIntervalMs) {
      // Not on every wake: these do not free capacity, and a pass must stay short for pacing.
      lastHousekeeping = Date.now();
      const staleBefore = new Date(Date.now() - deps.republishAfterMs);
      for (const contact of await store.takeUnrequested(staleBefore, 100)) {
        log.info(
          { campaignId: contact.campaignId, contactId: contact.contactId },
          'campaign contact dialing without a call request; publishing it again',
        );
        await publishRequest(contact);
      }
      await store.skipExpired();
    }
    for (const { id, nextCallAt, atCapacity } of await store.runnable()) {
      if (abort.signal.aborted) break;
      const now = Date.now();
      const claim: CampaignClaim =
        nextCallAt && nextCallAt.getTime() > now
          ? { kind: 'paced', until: nextCallAt }
          : atCapacity
            ? { kind: 'at-capacity' }
            : await store.claimDue(id, new Date(now));
      switch (claim.kind) {
        case 'claimed':
          // At once: a late pass's batch must not cost a round trip per call either.
          await Promise.all(claim.contacts.map(publishRequest));
          log.debug({ campaignId: id, calls: claim.contacts.length }, 'campaign calls requested');
          sleepMs = Math.min(sleepMs, claim.nextCallAt.getTime() - Date.now());
          break;
        case 'paced':
          sleepMs = Math.min(sleepMs, claim.until.getTime() - Date.now());
          break;
        case 'idle':
          if (await store.completeIfDone(id)) {
            const counts = await publishCounts(id, 'completed', now);
            log.info({ campaignId: id, ...counts }, 'campaign completed');
            lastProgress.delete(id);
            continue;
          }
          break;
        case 'misconfigured':
          log.warn({ campaignId: id, field: claim.reason }, 'campaign not runnable: bad settings');
          break;
        case 'at-capacity':
        case 'skipped':
          break;
      }
      if (now - (lastProgress.get(id) ?? 0) >= deps.progressIntervalMs) {
        lastProgress.set(id, now);
        await publishCounts(id, 'progress', now);
      }
    }
    return sleepMs;
  }

  const loop = (async () => {
    while (!abort.signal.aborted) {
      sleeper.clear();
      let sleepMs = deps.pollIntervalMs;
      try {
        sleepMs = await pass();
      } catch (err) {
        log.error({ err }, 'campaign runner pass failed; retrying');
      }
      await sleeper.sleep(Math.max(5, sleepMs));
    }
  })();

  return {
    wake,
    async stop() {
      abort.abort(new Error('campaign runner stopping'));
      sleeper.interrupt();
      await loop;
    },
  };
}
