/**
 * The {@link DialingDirectory} on PostgreSQL: `agents`, `phone_numbers`, `do_not_call_entries`,
 * `consent_records`, `campaigns` and `campaign_contacts`.
 */
import { type PrismaClient } from '@app/db';

import {
  type CampaignPolicy,
  type DialingDirectory,
  type OurNumber,
  type Transport,
} from './types.js';

/** `agents.id` is a uuid column: anything else would make PostgreSQL fail the query. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** `phone_numbers.transport` (the `phone_transport` enum) in the wire spelling. */
function transportOf(value: 'media_streams' | 'sip'): Transport {
  return value === 'sip' ? 'sip' : 'media-streams';
}

/** Reads the directory from the database through Prisma; every lookup is one indexed query. */
export class PrismaDialingDirectory implements DialingDirectory {
  readonly #prisma: PrismaClient;

  constructor(prisma: PrismaClient) {
    this.#prisma = prisma;
  }

  /** Whether the agent exists; false for an id that is not a UUID. */
  async agentExists(agentId: string): Promise<boolean> {
    if (!UUID.test(agentId)) return false;
    const agent = await this.#prisma.agent.findUnique({
      where: { id: agentId },
      select: { id: true },
    });
    return agent !== null;
  }

  /** The agent's numbers, oldest first, so the default caller id does not change by itself. */
  async numbersOf(agentId: string): Promise<OurNumber[]> {
    if (!UUID.test(agentId)) return [];
    const rows = await this.#prisma.phoneNumber.findMany({
      where: { agentId },
      select: { e164: true, transport: true },
      orderBy: [{ createdAt: 'asc' }, { e164: 'asc' }],
    });
    return rows.map((row) => ({ e164: row.e164, transport: transportOf(row.transport) }));
  }

  async ourNumber(e164: string): Promise<OurNumber | null> {
    const row = await this.#prisma.phoneNumber.findUnique({
      where: { e164 },
      select: { e164: true, transport: true },
    });
    return row === null ? null : { e164: row.e164, transport: transportOf(row.transport) };
  }

  async onDoNotCallList(e164: string): Promise<boolean> {
    const entry = await this.#prisma.doNotCallEntry.findUnique({
      where: { phone: e164 },
      select: { id: true },
    });
    return entry !== null;
  }

  /** The pool's numbers, oldest first (the rotation order). */
  async poolNumbers(pool: string): Promise<OurNumber[]> {
    const rows = await this.#prisma.phoneNumber.findMany({
      where: { pool },
      select: { e164: true, transport: true },
      orderBy: [{ createdAt: 'asc' }, { e164: 'asc' }],
    });
    return rows.map((row) => ({ e164: row.e164, transport: transportOf(row.transport) }));
  }

  /**
   * The campaign's policies; the contact's `max_attempts` only when it is this campaign's. One
   * query (the dialer's intake asks for every campaign call).
   */
  async campaignPolicy(campaignId: string, contactId?: string): Promise<CampaignPolicy | null> {
    if (!UUID.test(campaignId)) return null;
    const contact = contactId !== undefined && UUID.test(contactId) ? contactId : null;
    const [row] = await this.#prisma.$queryRaw<
      Array<{
        consent_purpose: string | null;
        from_pool: string | null;
        retry_policy: unknown;
        max_attempts: number | null;
      }>
    >`
      SELECT k.consent_purpose, k.from_pool, k.retry_policy, c.max_attempts
      FROM campaigns k
      LEFT JOIN campaign_contacts c ON c.id = ${contact}::uuid AND c.campaign_id = k.id
      WHERE k.id = ${campaignId}::uuid`;
    if (row === undefined) return null;
    return {
      consentPurpose: row.consent_purpose,
      fromPool: row.from_pool,
      retryPolicy: row.retry_policy,
      contactMaxAttempts: row.max_attempts,
    };
  }

  /** A consent record for this number and purpose with no `revokedAt`. */
  async hasConsent(e164: string, purpose: string): Promise<boolean> {
    const record = await this.#prisma.consentRecord.findFirst({
      where: { phone: e164, purpose, revokedAt: null },
      select: { id: true },
    });
    return record !== null;
  }
}
