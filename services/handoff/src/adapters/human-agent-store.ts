/**
 * Routing to humans in PostgreSQL: claim the longest-idle available human (with the skill, and
 * reachable on the call's transport) and mark them busy in one statement, so two replicas, or
 * two handoffs at once, never pick the same person; give them back when a handoff falls through.
 */
import type { Prisma, PrismaClient } from '@app/db';

import type { Transport } from '../domain/transfer-plan.js';

export interface ClaimedHuman {
  id: string;
  name: string;
  phoneNumber: string | null;
  sipUri: string | null;
  twilioClientIdentity: string | null;
}

export class HumanAgentStore {
  /** The client, or a transaction's (the claim joins the transfer decision's transaction). */
  constructor(private readonly prisma: PrismaClient | Prisma.TransactionClient) {}

  /**
   * The available human idle longest (oldest `available_since`), now `busy`; null when none
   * has the skill (absent: any) and a way to be reached on `transport` (SIP REFER cannot reach
   * a Twilio Client identity).
   */
  async claimLongestIdle(
    skill: string | undefined,
    transport: Transport,
  ): Promise<ClaimedHuman | null> {
    const skillFilter = skill ?? null;
    const clientOk = transport === 'media-streams';
    const rows = await this.prisma.$queryRaw<ClaimedHuman[]>`
      UPDATE human_agents AS h SET status = 'busy'::human_agent_status, available_since = NULL,
        updated_at = now()
      WHERE h.id = (
        SELECT id FROM human_agents
        WHERE status = 'available'
          AND (${skillFilter}::text IS NULL OR ${skillFilter}::text = ANY(skills))
          AND (phone_number IS NOT NULL OR sip_uri IS NOT NULL
               OR (${clientOk} AND twilio_client_identity IS NOT NULL))
        ORDER BY available_since ASC NULLS LAST, created_at, id
        LIMIT 1 FOR UPDATE SKIP LOCKED)
      RETURNING h.id::text AS id, h.name, h.phone_number AS "phoneNumber", h.sip_uri AS "sipUri",
        h.twilio_client_identity AS "twilioClientIdentity"`;
    return rows[0] ?? null;
  }

  /**
   * A handoff that never reached the human gives them back: available again, at the back of
   * the queue. Only a human still `busy` (one who went offline meanwhile stays offline).
   */
  async release(humanAgentId: string): Promise<void> {
    await this.prisma.$executeRaw`
      UPDATE human_agents SET status = 'available'::human_agent_status, available_since = now(),
        updated_at = now()
      WHERE id = ${humanAgentId}::uuid AND status = 'busy'`;
  }
}
