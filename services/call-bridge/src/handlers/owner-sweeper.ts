/**
 * The sweeper (ARCHITECTURE.md "Ownership and control of a live call"): a pod that dies stops
 * heart-beating, and its calls would stay "in progress" forever. Every bridge periodically
 * looks for answered calls whose `call-owners` entry is gone (bucket TTL) or stale (not re-put
 * for `staleAfterMs`) and ends them with reason `bridge_lost`. The `ended` event's id is derived from the call id, so
 * when several bridges sweep the same call, JetStream keeps one event.
 *
 * A Media Streams call of a dead pod is over anyway (its media socket died with the pod). A SIP
 * call is not: OpenAI carries its audio, so the caller would go on talking to a model nobody
 * controls (no tools, no transcripts, no transfer). The sweeper hangs those up at OpenAI.
 */
import type { JetStreamClient } from '@nats-io/jetstream';

import {
  callEvent,
  publishEvent,
  uuidV5,
  type BusLogger,
  type CallEvent,
  type CallOwners,
  type Names,
} from '@app/contracts';
import type { PrismaClient } from '@app/db';

/** Namespace of the sweeper's event ids (a fixed random UUID). */
const SWEEP_NAMESPACE = '8b7e1c52-3f4d-4a6b-9c21-5e0f7d3a9b14';

export interface SweeperDeps {
  prisma: PrismaClient;
  owners: CallOwners;
  js: JetStreamClient;
  names: Names;
  log: BusLogger;
  /** Hangs up a SIP call at OpenAI (`realtime.calls.hangup`); absent: SIP calls are only recorded. */
  hangUpSip?: (openaiCallId: string) => Promise<void>;
  /**
   * An owner entry not re-put for this long is dead (ms): several missed heartbeats. An answered
   * call younger than this is left alone too (its owner may be writing its first entry).
   * @defaultValue 30 000
   */
  staleAfterMs?: number;
}

/** One sweep; returns the ids of the calls it ended. */
export async function sweepLostCalls(
  deps: SweeperDeps,
  nowMs: number = Date.now(),
): Promise<string[]> {
  const staleAfterMs = deps.staleAfterMs ?? 30_000;
  const candidates = await deps.prisma.call.findMany({
    where: {
      status: 'in_progress',
      transport: { in: ['media_streams', 'sip'] },
      answeredAt: { lt: new Date(nowMs - staleAfterMs) },
    },
    select: { id: true, transport: true, openaiCallId: true },
    take: 500,
  });
  const lost: string[] = [];
  for (const { id, transport, openaiCallId } of candidates) {
    const beat = await deps.owners.lastBeat(id);
    if (beat && nowMs - beat.at.getTime() < staleAfterMs) continue;
    // Ended already, and its owner entry released, but the record is behind (the projector
    // catching up after a NATS or PostgreSQL outage): not lost, and a second `ended` would be
    // a duplicate for every consumer of the stream.
    if (await endedInStream(deps, id)) continue;
    if (transport === 'sip' && openaiCallId && deps.hangUpSip) {
      // Best effort: the call may be gone already (404) if the caller hung up meanwhile.
      await deps.hangUpSip(openaiCallId).catch((err: unknown) => {
        deps.log.warn({ err, callId: id }, 'sip call of a lost bridge not hung up at OpenAI');
      });
    }
    await publishEvent(
      deps.js,
      deps.names,
      callEvent(
        'ended',
        id,
        { reason: 'bridge_lost' },
        { id: uuidV5(`${id}:bridge_lost`, SWEEP_NAMESPACE) },
      ) as CallEvent,
    );
    // A stale entry would still name the dead pod to anyone routing call-control.
    if (beat) await deps.owners.release(id);
    lost.push(id);
  }
  if (lost.length > 0) deps.log.warn({ calls: lost.length }, 'calls of a lost bridge ended');
  return lost;
}

/** Whether the CALLS stream holds an `ended` event of the call. */
async function endedInStream(deps: SweeperDeps, callId: string): Promise<boolean> {
  const jsm = await deps.js.jetstreamManager(false);
  const last = await jsm.streams.getMessage(deps.names.streams.calls.name, {
    last_by_subj: deps.names.subjects.callEvent(callId, 'ended'),
  });
  return last !== null;
}

/**
 * Sweeps every `intervalMs` until stopped. @defaultValue intervalMs 15 000
 *
 * With `nc`, no sweep runs while NATS is disconnected, nor for `staleAfterMs` after it is back:
 * no pod could heart-beat while the server was gone, so every entry looks stale then, live
 * calls' too. Once reconnected, each live owner re-puts within one heartbeat.
 */
export function startOwnerSweeper(
  deps: SweeperDeps & {
    intervalMs?: number;
    nc?: { status(): AsyncIterable<{ type: string }> };
  },
): { stop(): void } {
  const staleAfterMs = deps.staleAfterMs ?? 30_000;
  let quietUntil = 0;
  if (deps.nc) {
    const status = deps.nc.status();
    void (async () => {
      for await (const s of status) {
        if (s.type === 'disconnect') quietUntil = Number.POSITIVE_INFINITY;
        if (s.type === 'reconnect') quietUntil = Date.now() + staleAfterMs;
      }
    })();
  }
  const timer = setInterval(() => {
    if (Date.now() < quietUntil) return;
    sweepLostCalls(deps).catch((err: unknown) => deps.log.warn({ err }, 'sweep failed'));
  }, deps.intervalMs ?? 15_000);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
