/**
 * Records that an agent's recording/AI disclosure was said on a call (issue 10) as a
 * `consent_records` row: purpose `ai-call`, method `voice`, the call's id, recorded by
 * `system:call-bridge`, for the other party's number (the caller of an inbound call, the callee
 * of an outbound one).
 *
 * Why a consent row and not only a call event: the consent records are where "when, how, for
 * which purpose" is asked (the consents API, a data subject's export), and a notice the caller
 * heard and stayed on the line after is the consent-by-notice that recording and AI-disclosure
 * rules accept for that call. The agent's own words are in the call's transcript events too.
 * The row names its call, so it is evidence for that call; note that the dialer counts any row in
 * force, so a campaign whose `consentPurpose` is `ai-call` accepts a number that has heard the
 * notice (use a purpose of its own, e.g. `marketing`, for consent to be called).
 */
import type { PrismaClient } from '@app/db';

export const DISCLOSURE_PURPOSE = 'ai-call';
export const DISCLOSURE_METHOD = 'voice';
export const DISCLOSURE_RECORDED_BY = 'system:call-bridge';

const E164 = /^\+[1-9]\d{6,14}$/;

export interface DisclosureRecordOptions {
  /**
   * The call's row is written by the gateway (inbound) or its projector; a disclosure said
   * seconds in normally finds it, but a busy projector may lag: looked up this many times.
   * @defaultValue 5
   */
  attempts?: number;
  /** Between lookups, in ms. @defaultValue 1 000 */
  retryDelayMs?: number;
}

/** What was recorded: the row, or why not (no such call, or a number that is not E.164). */
export type DisclosureRecordResult =
  { recorded: true; consentId: string } | { recorded: false; reason: 'no_call' | 'no_number' };

export function disclosureRecorder(
  prisma: PrismaClient,
  options: DisclosureRecordOptions = {},
): (callId: string) => Promise<DisclosureRecordResult> {
  const attempts = Math.max(1, options.attempts ?? 5);
  const delayMs = options.retryDelayMs ?? 1_000;
  return async (callId) => {
    for (let attempt = 1; ; attempt += 1) {
      const call = await prisma.call.findUnique({
        where: { id: callId },
        select: { direction: true, fromNumber: true, toNumber: true },
      });
      if (call !== null) {
        const phone = call.direction === 'inbound' ? call.fromNumber : call.toNumber;
        // An anonymous or SIP-URI caller has no number to hold the record against.
        if (!E164.test(phone)) return { recorded: false, reason: 'no_number' };
        const row = await prisma.consentRecord.create({
          data: {
            phone,
            purpose: DISCLOSURE_PURPOSE,
            method: DISCLOSURE_METHOD,
            callId,
            recordedBy: DISCLOSURE_RECORDED_BY,
          },
          select: { id: true },
        });
        return { recorded: true, consentId: row.id };
      }
      if (attempt >= attempts) return { recorded: false, reason: 'no_call' };
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  };
}
