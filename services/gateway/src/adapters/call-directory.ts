/**
 * The gateway's reads for the Twilio webhooks: which agent answers a number, and which call a
 * Twilio CallSid belongs to. Behind an interface so the routes are tested with the real
 * PostgreSQL or with an in-memory directory alike.
 */
import type { PrismaClient } from '@app/db';

export interface CallDirectory {
  /** The agent configured for an E.164 number; null when the number is not ours. */
  agentForNumber(e164: string): Promise<{ agentId: string } | null>;
  /** Our call id for a Twilio CallSid; null when no call with it was recorded (yet). */
  callIdForSid(callSid: string): Promise<string | null>;
}

export class PrismaCallDirectory implements CallDirectory {
  constructor(private readonly prisma: PrismaClient) {}

  async agentForNumber(e164: string): Promise<{ agentId: string } | null> {
    const row = await this.prisma.phoneNumber.findUnique({
      where: { e164 },
      select: { agentId: true },
    });
    return row ? { agentId: row.agentId } : null;
  }

  async callIdForSid(callSid: string): Promise<string | null> {
    const row = await this.prisma.call.findUnique({
      where: { twilioCallSid: callSid },
      select: { id: true },
    });
    return row?.id ?? null;
  }
}
