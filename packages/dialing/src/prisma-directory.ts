/**
 * The {@link DialingDirectory} on PostgreSQL: `agents`, `phone_numbers`, `do_not_call_entries`,
 * `consent_records`.
 */
import { type PrismaClient } from '@app/db';

import { type DialingDirectory, type OurNumber, type Transport } from './types.js';

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

  /** A consent record for this number and purpose with no `revokedAt`. */
  async hasConsent(e164: string, purpose: string): Promise<boolean> {
    const record = await this.#prisma.consentRecord.findFirst({
      where: { phone: e164, purpose, revokedAt: null },
      select: { id: true },
    });
    return record !== null;
  }
}
