/**
 * add_to_do_not_call: the caller asked not to be called again (issue 10). Lists the number of
 * this call's other party, read from the call record (`ctx.call`, the `calls` row), never from
 * the model's arguments: the tool takes no number, so a model talked into it cannot list someone
 * else. The entry's source is `voice` and it names the call.
 *
 * Idempotent: a number already listed (by an earlier call, the API or an import) stays as it is
 * and the model is told so; only a new entry writes an `audit_logs` row, in the same transaction
 * (actor `system:tool-runner`), as the admin API's writes do. Every outbound path checks the list
 * before it dials (`@app/dialing`), including calls already queued.
 */
import { z } from 'zod';

import { Prisma, type PrismaClient } from '@app/db';

import { type ToolHandler } from '../domain/tool-context.js';
import { ToolErrorCode, ToolFailure } from '../domain/tool-errors.js';

/** `do_not_call_entries.source` of entries a caller asked for during a call. */
export const VOICE_SOURCE = 'voice';
export const ACTOR = 'system:tool-runner';

const E164 = /^\+[1-9]\d{6,14}$/;

const argsSchema = z.object({ reason: z.string().trim().max(200).optional() });

export function addToDoNotCallTool(deps: { prisma: PrismaClient }): ToolHandler {
  const { prisma } = deps;
  return async (raw, ctx) => {
    const { reason } = argsSchema.parse(raw);
    const phone = ctx.call?.callerNumber;
    if (phone === undefined) {
      // The call's row is written as it starts; missing means it cannot be known whose it is.
      throw new ToolFailure(
        ToolErrorCode.HandlerError,
        "this call's record is not available yet, so the number cannot be listed: tell the caller their request is noted and try again in a moment",
        true,
      );
    }
    if (!E164.test(phone)) {
      throw new ToolFailure(
        ToolErrorCode.HandlerError,
        "the caller's number is withheld or not a phone number, so it cannot be listed: tell the caller, and that a withheld number is not called back",
      );
    }
    const created = await prisma
      .$transaction(async (tx) => {
        const row = await tx.doNotCallEntry.create({
          data: {
            phone,
            source: VOICE_SOURCE,
            reason: reason ? reason : 'asked during a call',
            callId: ctx.callId,
          },
        });
        await tx.auditLog.create({
          data: {
            actor: ACTOR,
            action: 'do_not_call.create',
            resourceType: 'do_not_call_entry',
            resourceId: row.id,
            before: Prisma.JsonNull,
            after: {
              id: row.id,
              phone: row.phone,
              reason: row.reason,
              source: row.source,
              callId: row.callId,
              createdAt: row.createdAt.toISOString(),
            },
          },
          select: { id: true },
        });
        return true;
      })
      .catch((err: unknown) => {
        // Already listed (now, or by a concurrent invocation): nothing to write.
        if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002') {
          return false;
        }
        throw err;
      });
    return {
      listed: true,
      alreadyListed: !created,
      instruction:
        'Confirm to the caller that this number will not be called again, then offer to end the call.',
    };
  };
}
