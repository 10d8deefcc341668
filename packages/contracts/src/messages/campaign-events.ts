/**
 * Campaign progress events, published on `campaigns.<campaignId>.<event>` (JetStream
 * `CAMPAIGNS`) by the campaign-scheduler for the dashboard. The envelope `type` is
 * `campaign.<event>`; `data.campaignId` names the campaign (and builds the subject).
 */
import { z } from 'zod';

import { buildEnvelope, envelope, nonEmpty, type EnvelopeOptions } from '../envelope.js';
import { CAMPAIGN_EVENT_TYPES, ID_TOKEN_PATTERN, type CampaignEventType } from '../subjects.js';

const count = z.number().int().nonnegative();

/** Contact counts of a campaign at the time of the event. */
export const campaignCountsSchema = z.object({
  total: count,
  dialed: count,
  completed: count,
  failed: count,
  remaining: count,
  /** Contacts with a call in progress (placed or live). Absent: not reported. */
  live: count.optional(),
  /** Contacts never dialed (do-not-call, refused by validation, past the campaign's end). */
  skipped: count.optional(),
});
export type CampaignCounts = z.output<typeof campaignCountsSchema>;

/** A campaign id as it appears in subjects (one token). */
export const campaignIdSchema = z.string().max(128).regex(ID_TOKEN_PATTERN, {
  message: 'expected a campaign id usable as one subject token (letters, digits, "-" and "_")',
});

/** `data` of each campaign event: counts are required where progress is the point. */
export const campaignEventDataSchemas = {
  started: z.object({ campaignId: campaignIdSchema, counts: campaignCountsSchema.optional() }),
  paused: z.object({
    campaignId: campaignIdSchema,
    reason: nonEmpty.optional(),
    counts: campaignCountsSchema.optional(),
  }),
  resumed: z.object({ campaignId: campaignIdSchema, counts: campaignCountsSchema.optional() }),
  progress: z.object({ campaignId: campaignIdSchema, counts: campaignCountsSchema }),
  completed: z.object({ campaignId: campaignIdSchema, counts: campaignCountsSchema }),
  canceled: z.object({
    campaignId: campaignIdSchema,
    reason: nonEmpty.optional(),
    counts: campaignCountsSchema.optional(),
  }),
} as const satisfies Record<CampaignEventType, z.ZodType>;

type DataSchemas = typeof campaignEventDataSchemas;

/** The envelope type of a campaign event: `campaign.<event>`. */
export type CampaignEventMessageType<E extends CampaignEventType = CampaignEventType> =
  `campaign.${E}`;

/** Full envelope schema of each campaign event, keyed by event. */
export const campaignEventSchemas = {
  started: envelope('campaign.started', campaignEventDataSchemas.started),
  paused: envelope('campaign.paused', campaignEventDataSchemas.paused),
  resumed: envelope('campaign.resumed', campaignEventDataSchemas.resumed),
  progress: envelope('campaign.progress', campaignEventDataSchemas.progress),
  completed: envelope('campaign.completed', campaignEventDataSchemas.completed),
  canceled: envelope('campaign.canceled', campaignEventDataSchemas.canceled),
} as const satisfies Record<CampaignEventType, z.ZodType>;

/** Any campaign event, discriminated by `type`. */
export const campaignEventSchema = z.discriminatedUnion('type', [
  campaignEventSchemas.started,
  campaignEventSchemas.paused,
  campaignEventSchemas.resumed,
  campaignEventSchemas.progress,
  campaignEventSchemas.completed,
  campaignEventSchemas.canceled,
]);

export type CampaignEventData<E extends CampaignEventType = CampaignEventType> = z.output<
  DataSchemas[E]
>;
export type CampaignEventDataInput<E extends CampaignEventType> = z.input<DataSchemas[E]>;
/** The envelope of campaign event `E`; without `E`, the union of all campaign events. */
export type CampaignEvent<E extends CampaignEventType = CampaignEventType> = {
  [K in E]: z.output<(typeof campaignEventSchemas)[K]>;
}[E];

/** The event token (`progress`) of a campaign message type (`campaign.progress`); else `null`. */
export function campaignEventTypeOf(type: string): CampaignEventType | null {
  if (!type.startsWith('campaign.')) return null;
  const event = type.slice('campaign.'.length);
  return Object.hasOwn(campaignEventSchemas, event) ? (event as CampaignEventType) : null;
}

/**
 * Builds a validated campaign event, e.g.
 * `campaignEvent('progress', { campaignId, counts })`. Throws a `TypeError` naming the issue.
 */
export function campaignEvent<E extends CampaignEventType>(
  event: E,
  data: CampaignEventDataInput<E>,
  options: Omit<EnvelopeOptions, 'callId'> = {},
): CampaignEvent<E> {
  if (!Object.hasOwn(campaignEventSchemas, event)) {
    throw new TypeError(
      `unknown campaign event "${String(event)}": use one of ${CAMPAIGN_EVENT_TYPES.join(', ')}`,
    );
  }
  return buildEnvelope(campaignEventSchemas[event], data as never, options) as CampaignEvent<E>;
}
