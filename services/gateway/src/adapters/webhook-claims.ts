/**
 * Once-only handling of webhooks across gateway replicas: an id is claimed atomically in a KV
 * bucket (KV `create` fails when the key exists), and the bucket TTL forgets the claim.
 *
 * - `openai-webhook-ids`: an OpenAI webhook id, and the OpenAI call id it is about; the TTL
 *   outlasts the window in which a replay passes the timestamp check (names.kv.openaiWebhookIds).
 * - `twilio-webhook-claims`: a Twilio request, by its signature (../adapters/twilio-replay.ts);
 *   Twilio signs no timestamp, so the TTL is a chosen day (names.kv.twilioWebhookClaims).
 */
import { JetStreamApiCodes, JetStreamApiError, StorageType } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';

import type { Names } from '@app/contracts';

/** The codes of a `create` refused because the key holds a value. */
const TAKEN: readonly number[] = [
  JetStreamApiCodes.StreamWrongLastSequence,
  JetStreamApiCodes.StreamWrongLastSequenceUnknown,
];

/**
 * What can be claimed: an OpenAI delivery (`webhook-id`) or the call it offers (`data.call_id`),
 * or a Twilio request (its X-Twilio-Signature).
 */
export type ClaimKind = 'webhook' | 'call' | 'twilio-request';

/** The KV buckets of claims (names.kv). */
export type ClaimBucket = 'openaiWebhookIds' | 'twilioWebhookClaims';

export interface WebhookClaims {
  /** True when this caller is the first to claim `id` of `kind`; false when it was claimed. */
  claim(kind: ClaimKind, id: string): Promise<boolean>;
  /** Gives a claim up (its handling failed), so a redelivery is handled. */
  release(kind: ClaimKind, id: string): Promise<void>;
}

/**
 * A KV key for any id: the id comes from the sender, and KV keys allow only `[-/=.\w]`;
 * base64url keeps every id distinct and valid.
 */
function keyOf(kind: ClaimKind, id: string): string {
  return `${kind}.${Buffer.from(id, 'utf8').toString('base64url')}`;
}

export class KvWebhookClaims implements WebhookClaims {
  constructor(private readonly kv: KV) {}

  /**
   * Creates the namespace's bucket when missing (idempotent: an existing bucket is opened as it
   * is; safe from several replicas at once) and returns claims on it.
   *
   * @param opts.replicas - NATS_STREAM_REPLICAS. @defaultValue 1
   * @param opts.bucket - Which bucket of names.kv. @defaultValue 'openaiWebhookIds'
   */
  static async open(
    nc: NatsConnection,
    names: Names,
    opts: { replicas?: number; bucket?: ClaimBucket } = {},
  ): Promise<KvWebhookClaims> {
    const spec = names.kv[opts.bucket ?? 'openaiWebhookIds'];
    const kv = await new Kvm(nc).create(spec.name, {
      history: spec.history,
      ttl: spec.ttlMs,
      storage: StorageType.File,
      replicas: opts.replicas ?? 1,
    });
    return new KvWebhookClaims(kv);
  }

  async claim(kind: ClaimKind, id: string): Promise<boolean> {
    try {
      await this.kv.create(keyOf(kind, id), new Uint8Array(0));
      return true;
    } catch (err) {
      // The key holds a live value: someone claimed it first.
      if (err instanceof JetStreamApiError && TAKEN.includes(err.code)) return false;
      throw err;
    }
  }

  async release(kind: ClaimKind, id: string): Promise<void> {
    await this.kv.delete(keyOf(kind, id));
  }
}
