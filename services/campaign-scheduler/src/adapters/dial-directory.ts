/**
 * What the dialer looks up right before an attempt: the agent's answering-machine setting, the
 * do-not-call list (a number may be added between the request and a retry hours later), the
 * numbers of a pool (they may change between attempts), and whether a request's campaign and
 * contact are recorded.
 */
import type { PrismaClient } from '@app/db';

import type { AmdMode, Transport } from '../domain/call-placement.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface DialDirectory {
  /** The agent's `amd_mode`; `off` when the agent is gone. */
  amdMode(agentId: string): Promise<AmdMode>;
  onDoNotCallList(e164: string): Promise<boolean>;
  /** The pool's numbers, oldest first (the rotation order); empty when none is left. */
  poolNumbers(pool: string): Promise<Array<{ e164: string; transport: Transport }>>;
  /**
   * The campaign and contact ids to put on the call's `created` event: only those that are
   * recorded, because the call record's columns reference them (an unknown id would stop the
   * call-record projector on a foreign key).
   */
  campaignRefs(
    campaignId: string | null,
    contactId: string | null,
  ): Promise<{ campaignId?: string; contactId?: string }>;
}

export class PrismaDialDirectory implements DialDirectory {
  constructor(private readonly prisma: PrismaClient) {}

  async amdMode(agentId: string): Promise<AmdMode> {
    const agent = await this.prisma.agent.findUnique({
      where: { id: agentId },
      select: { amdMode: true },
    });
    return agent?.amdMode ?? 'off';
  }

  async onDoNotCallList(e164: string): Promise<boolean> {
    const entry = await this.prisma.doNotCallEntry.findUnique({
      where: { phone: e164 },
      select: { id: true },
    });
    return entry !== null;
  }

  async poolNumbers(pool: string): Promise<Array<{ e164: string; transport: Transport }>> {
    const rows = await this.prisma.phoneNumber.findMany({
      where: { pool },
      select: { e164: true, transport: true },
      orderBy: [{ createdAt: 'asc' }, { e164: 'asc' }],
    });
    return rows.map((r) => ({
      e164: r.e164,
      transport: r.transport === 'sip' ? ('sip' as const) : ('media-streams' as const),
    }));
  }

  async campaignRefs(
    campaignId: string | null,
    contactId: string | null,
  ): Promise<{ campaignId?: string; contactId?: string }> {
    const out: { campaignId?: string; contactId?: string } = {};
    if (campaignId && UUID.test(campaignId)) {
      const found = await this.prisma.campaign.findUnique({
        where: { id: campaignId },
        select: { id: true },
      });
      if (found) out.campaignId = campaignId;
    }
    if (contactId && UUID.test(contactId)) {
      const found = await this.prisma.campaignContact.findUnique({
        where: { id: contactId },
        select: { id: true },
      });
      if (found) out.contactId = contactId;
    }
    return out;
  }
}
