/**
 * The gateway's reads for the Twilio and OpenAI webhooks: which agent answers a number, whether
 * an agent exists, an agent's answering-machine settings, and which call a Twilio CallSid
 * belongs to. Behind an interface so the routes are tested with the real PostgreSQL or with an
 * in-memory directory alike.
 */
import type { PrismaClient } from '@app/db';
import { staleIfError } from '@app/platform';

import type { AnsweringMachineSettings } from '../domain/answering-machine.js';
import { isUuid } from '../domain/call-record.js';

/** What the status callback needs to know of a recorded call. */
export interface CallBySid {
  callId: string;
  /** How the call reached the voice model; null until known. */
  transport: 'media_streams' | 'sip' | null;
  /**
   * When a call-bridge answered it (the projected `answered` event); null if none did, also
   * when only an answering machine did (`answeredBy: machine`).
   */
  answeredAt: Date | null;
  /** When the call ended (the projected `ended` event); null while it goes on. */
  endedAt?: Date | null;
}

export interface CallDirectory {
  /** The agent configured for an E.164 number; null when the number is not ours. */
  agentForNumber(e164: string): Promise<{ agentId: string } | null>;
  /**
   * Whether an agent with this id exists (`X-Agent-Id` of a SIP call); false for anything that
   * is not an agent id, never a throw: the value comes from the caller's side.
   */
  agentExists(agentId: string): Promise<boolean>;
  /** The call with a Twilio CallSid; null when no call with it was recorded (yet). */
  callForSid(callSid: string): Promise<CallBySid | null>;
  /**
   * An agent's answering-machine settings (`amd_mode`, `voicemail_message`), for the TwiML of
   * an outbound call; null when there is no such agent (or the id is not an agent id).
   */
  answeringMachineOf(agentId: string): Promise<AnsweringMachineSettings | null>;
}

export interface PrismaCallDirectoryOptions {
  /**
   * Told when the database failed and a number's last known agent answered instead (see
   * `agentForNumber`); log it.
   */
  onStaleAgent?: (e164: string, err: unknown, ageMs: number) => void;
}

export class PrismaCallDirectory implements CallDirectory {
  readonly #agentForNumber: (e164: string) => Promise<{ agentId: string } | null>;

  constructor(
    private readonly prisma: PrismaClient,
    opts: PrismaCallDirectoryOptions = {},
  ) {
    // Through a database outage a number keeps its last known agent (up to an hour old), so
    // calls to it are still answered; a number never looked up gets the failure.
    this.#agentForNumber = staleIfError(
      async (e164: string) => {
        const row = await this.prisma.phoneNumber.findUnique({
          where: { e164 },
          select: { agentId: true },
        });
        return row ? { agentId: row.agentId } : null;
      },
      opts.onStaleAgent ? { onStale: opts.onStaleAgent } : {},
    );
  }

  agentForNumber(e164: string): Promise<{ agentId: string } | null> {
    return this.#agentForNumber(e164);
  }

  async agentExists(agentId: string): Promise<boolean> {
    // Agent ids are UUID columns: PostgreSQL would refuse any other text with an error.
    if (!isUuid(agentId)) return false;
    const row = await this.prisma.agent.findUnique({
      where: { id: agentId },
      select: { id: true },
    });
    return row !== null;
  }

  async callForSid(callSid: string): Promise<CallBySid | null> {
    const row = await this.prisma.call.findUnique({
      where: { twilioCallSid: callSid },
      select: { id: true, transport: true, answeredAt: true, endedAt: true },
    });
    return row
      ? {
          callId: row.id,
          transport: row.transport,
          answeredAt: row.answeredAt,
          endedAt: row.endedAt,
        }
      : null;
  }

  async answeringMachineOf(agentId: string): Promise<AnsweringMachineSettings | null> {
    if (!isUuid(agentId)) return null;
    return this.prisma.agent.findUnique({
      where: { id: agentId },
      select: { amdMode: true, voicemailMessage: true },
    });
  }
}
