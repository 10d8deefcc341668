/**
 * The `call-owners` KV bucket with validation: `callId -> { v, pod, since, transport }`. The
 * owning bridge claims a call, re-puts it as a heartbeat and releases it at call end; the bucket
 * TTL (`names.kv.callOwners.ttlMs`) expires the keys of a pod that died, and the sweeper ends
 * those calls with reason `bridge_lost`. Creating the bucket is provisioning's job.
 */
import { type JetStreamClient } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { type NatsConnection } from '@nats-io/transport-node';

import { formatIssues, parseOrThrow } from '../envelope.js';
import { callOwnerSchema, type CallOwner } from '../messages/call-owner.js';
import { type Names } from '../subjects.js';
import { type BusLogger } from './logger.js';
import { encodeMessage } from './publish.js';

/** Validated access to the call-owners bucket. */
export class CallOwners {
  /**
   * @param kv - The opened bucket.
   * @param logger - Receives a `warn` for a stored value that fails its schema.
   */
  constructor(
    readonly kv: KV,
    private readonly logger: BusLogger,
  ) {}

  /** Opens the namespace's existing bucket (`names.kv.callOwners.name`). */
  static async open(
    nc: NatsConnection | JetStreamClient,
    names: Names,
    logger: BusLogger,
  ): Promise<CallOwners> {
    return new CallOwners(await new Kvm(nc).open(names.kv.callOwners.name), logger);
  }

  /**
   * The owner of a call; `null` when the call has none (never claimed, released, expired) or
   * its stored value is invalid (logged).
   */
  async get(callId: string): Promise<CallOwner | null> {
    const entry = await this.kv.get(callId);
    if (!entry || entry.operation !== 'PUT') return null;
    return this.decode(callId, entry.value);
  }

  /**
   * The owner with the time of its last write (claim or heartbeat, by the NATS server's clock):
   * an owner that stopped heart-beating is dead even before the bucket TTL removes it.
   */
  async lastBeat(callId: string): Promise<{ owner: CallOwner; at: Date } | null> {
    const entry = await this.kv.get(callId);
    if (!entry || entry.operation !== 'PUT') return null;
    const owner = this.decode(callId, entry.value);
    return owner ? { owner, at: entry.created } : null;
  }

  /** Writes the owner (claim or heartbeat); returns the entry's revision. @throws TypeError */
  async put(callId: string, owner: CallOwner): Promise<number> {
    const valid = parseOrThrow(callOwnerSchema, owner, 'call owner');
    return this.kv.put(callId, encodeMessage(valid));
  }

  /**
   * Takes a call that has no owner; `false` when another pod already holds it. @throws TypeError
   */
  async claim(callId: string, owner: CallOwner): Promise<boolean> {
    const valid = parseOrThrow(callOwnerSchema, owner, 'call owner');
    try {
      await this.kv.create(callId, encodeMessage(valid));
      return true;
    } catch (err) {
      if ((await this.get(callId)) !== null) return false;
      throw err;
    }
  }

  /** Removes the owner at call end. */
  async release(callId: string): Promise<void> {
    await this.kv.delete(callId);
  }

  /** Every owned call with its owner (invalid values are logged and skipped). */
  async list(): Promise<Array<{ callId: string; owner: CallOwner }>> {
    const result: Array<{ callId: string; owner: CallOwner }> = [];
    for await (const callId of await this.kv.keys()) {
      const owner = await this.get(callId);
      if (owner) result.push({ callId, owner });
    }
    return result;
  }

  private decode(callId: string, value: Uint8Array): CallOwner | null {
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder().decode(value));
    } catch {
      this.logger.warn({ callId, reason: 'value is not valid JSON' }, 'invalid call owner ignored');
      return null;
    }
    const result = callOwnerSchema.safeParse(json);
    if (!result.success) {
      this.logger.warn(
        { callId, reason: formatIssues(result.error) },
        'invalid call owner ignored',
      );
      return null;
    }
    return result.data;
  }
}
