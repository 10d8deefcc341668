/**
 * Writes call events into Call, CallEvent and TranscriptTurn. Each event is applied in one
 * transaction that first inserts its CallEvent row: the unique event id makes a redelivered or
 * replayed event a no-op, so projection is idempotent even for updates that are not.
 */
import type { CallEvent } from '@app/contracts';
import { Prisma, type PrismaClient } from '@app/db';
import { UserError } from '@app/platform';

import {
  isUuid,
  msColumn,
  statusForEndReason,
  TERMINAL_STATUSES,
  transcriptRole,
  type RecordStatus,
} from '../domain/call-record.js';

/** What applying an event did. */
export type ApplyResult = 'applied' | 'duplicate';

export interface CallRecordStore {
  apply(event: CallEvent): Promise<ApplyResult>;
}

type Tx = Prisma.TransactionClient;

export class PrismaCallRecordStore implements CallRecordStore {
  constructor(private readonly prisma: PrismaClient) {}

  async apply(event: CallEvent): Promise<ApplyResult> {
    if (!isUuid(event.callId)) {
      // Never valid later: the projector terminates it instead of retrying.
      throw new UserError(`call id ${event.callId} is not a UUID`, { code: 'CALL_ID_INVALID' });
    }
    return this.prisma.$transaction(async (tx) => {
      if (event.type === 'call.created') await createCall(tx, event);
      else if (!(await tx.call.findUnique({ where: { id: event.callId }, select: { id: true } }))) {
        throw new UserError(`event ${event.type} for unknown call ${event.callId}`, {
          code: 'CALL_NOT_FOUND',
        });
      }
      const inserted = await tx.callEvent.createMany({
        data: [
          {
            eventId: event.id,
            callId: event.callId,
            type: event.type.slice('call.'.length),
            ts: new Date(event.ts),
            data: event.data as Prisma.InputJsonValue,
          },
        ],
        skipDuplicates: true,
      });
      if (inserted.count === 0) return 'duplicate';
      await applyToCall(tx, event);
      return 'applied';
    });
  }
}

async function createCall(tx: Tx, event: Extract<CallEvent, { type: 'call.created' }>) {
  const d = event.data;
  await tx.call.createMany({
    data: [
      {
        id: event.callId,
        direction: d.direction,
        transport: d.transport === 'sip' ? 'sip' : 'media_streams',
        fromNumber: d.from,
        toNumber: d.to,
        status: d.direction === 'inbound' ? 'ringing' : 'queued',
        createdAt: new Date(event.ts),
        ...(d.providerCallSid ? { twilioCallSid: d.providerCallSid } : {}),
        ...(d.openaiCallId ? { openaiCallId: d.openaiCallId } : {}),
        ...(isUuid(d.agentId) && (await tx.agent.findUnique({ where: { id: d.agentId } }))
          ? { agentId: d.agentId }
          : {}),
        // References that do not exist are dropped, not inserted: a foreign-key failure here would
        // stop the projector on this event for ever, with every later event behind it.
        ...(isUuid(d.campaignId) &&
        (await tx.campaign.findUnique({ where: { id: d.campaignId }, select: { id: true } }))
          ? { campaignId: d.campaignId }
          : {}),
        ...(isUuid(d.contactId) &&
        (await tx.campaignContact.findUnique({ where: { id: d.contactId }, select: { id: true } }))
          ? { campaignContactId: d.contactId }
          : {}),
        ...(d.variables ? { variables: d.variables } : {}),
      },
    ],
    skipDuplicates: true,
  });
  // A second `created` of a known call: an outbound call that reached OpenAI over SIP, whose
  // OpenAI call id became known only then.
  if (d.openaiCallId) {
    await tx.call.updateMany({
      where: { id: event.callId, openaiCallId: null },
      data: { openaiCallId: d.openaiCallId, transport: 'sip' },
    });
  }
}

/** Moves a live call to `status`; never changes an ended one. */
async function setStatus(
  tx: Tx,
  callId: string,
  status: RecordStatus,
  extra: Prisma.CallUpdateManyMutationInput = {},
) {
  await tx.call.updateMany({
    where: { id: callId, status: { notIn: [...TERMINAL_STATUSES] } },
    data: { status, ...extra },
  });
}

async function applyToCall(tx: Tx, event: CallEvent): Promise<void> {
  switch (event.type) {
    case 'call.ringing':
      return setStatus(tx, event.callId, 'ringing');
    case 'call.answered':
      // An answering machine (the gateway's /twilio/outbound hung up or left a voicemail) is
      // on the line, but no agent took the call: `answeredAt` stays null, so Twilio's final
      // status callback ends it and the lost-bridge sweeper leaves it alone. The event itself
      // is in CallEvent.
      if (event.data.answeredBy === 'machine') return setStatus(tx, event.callId, 'in_progress');
      return setStatus(tx, event.callId, 'in_progress', {
        answeredAt: new Date(event.ts),
        ...(event.data.pod ? { bridgePod: event.data.pod } : {}),
      });
    case 'call.transcript': {
      // Partial text is superseded by the final one; an utterance cut off before its first
      // word (a greeting the caller talked over at once) is no turn. Both stay in CallEvent.
      if (!event.data.final || event.data.text.trim() === '') return;
      const sequence = await tx.transcriptTurn.count({ where: { callId: event.callId } });
      const endedAt = new Date(event.ts);
      await tx.transcriptTurn.create({
        data: {
          callId: event.callId,
          role: transcriptRole(event.data.role),
          text: event.data.text,
          sequence,
          sourceEventId: event.id,
          endedAt,
          ...(event.data.itemId ? { itemId: event.data.itemId } : {}),
        },
      });
      return;
    }
    case 'call.ended': {
      const metrics = event.data.metrics ?? {};
      const durationMs = msColumn(event.data.durationMs);
      const setupMs = msColumn(metrics.setupMs);
      const firstAudioMs = msColumn(metrics.firstAudioMs);
      await setStatus(tx, event.callId, statusForEndReason(event.data.reason), {
        endedAt: new Date(event.ts),
        endReason: event.data.reason,
        ...(durationMs !== undefined ? { durationMs } : {}),
        ...(Object.keys(metrics).length ? { metrics } : {}),
        ...(setupMs !== undefined ? { setupMs } : {}),
        ...(firstAudioMs !== undefined ? { firstAudioMs } : {}),
      });
      return;
    }
    case 'call.tool-called':
      return recordToolInvocation(tx, event);
    default:
      // created is handled before; status, barge-in, handoff-requested and error live in
      // CallEvent (handoffs get their own rows from the handoff service).
      return;
  }
}

/**
 * One ToolInvocation row per invocation: the event is published once the tool answered, so the
 * row is written finished. Unique on the provider's call id, so the same invocation published
 * twice (a retried publish under a new event id) is one row.
 */
async function recordToolInvocation(
  tx: Tx,
  event: Extract<CallEvent, { type: 'call.tool-called' }>,
): Promise<void> {
  const d = event.data;
  const finishedAt = new Date(event.ts);
  const latencyMs = msColumn(d.latencyMs);
  await tx.toolInvocation.createMany({
    data: [
      {
        invocationId: d.invocationId,
        callId: event.callId,
        name: d.name,
        args: jsonColumn(d.args),
        ...(d.result !== undefined ? { result: jsonColumn(d.result) } : {}),
        ...(d.error ? { error: `${d.error.code}: ${d.error.message}` } : {}),
        ...(latencyMs !== undefined ? { latencyMs } : {}),
        startedAt: new Date(finishedAt.getTime() - (latencyMs ?? 0)),
        finishedAt,
      },
    ],
    skipDuplicates: true,
  });
}

/** A JSON value for a Json column: JSON `null` is Prisma's JsonNull, not SQL NULL. */
function jsonColumn(value: unknown): Prisma.InputJsonValue | typeof Prisma.JsonNull {
  return value === null ? Prisma.JsonNull : (value as Prisma.InputJsonValue);
}
