/**
 * Writes an import's contacts in batches, all inside one transaction: a file that fails half-way
 * (broken CSV, body too large, database error) stores nothing. Rows with a phone already in the
 * campaign, or earlier in the file, are merged into that contact (`ON CONFLICT (campaign_id,
 * phone)`; the later name, zone, maxAttempts and variables win, variable by variable); its
 * status is kept. A contact with no zone given gets its number's zone when the number maps to
 * exactly one (campaign-contacts.ts); a zone given in any import wins over a derived one.
 */
import type { PrismaClient } from '@app/db';

import {
  ContactBatch,
  readContact,
  type ContactRow,
  type RawContact,
  type RejectedRow,
} from '../domain/campaign-contacts.js';
import { audit, EDITABLE, UUID, type CampaignWrite } from './campaign-store.js';

/** The per-row report of an import. */
export interface ImportReport {
  /** Valid rows (new contacts plus merged ones). */
  accepted: number;
  /** New contacts. */
  created: number;
  /** Valid rows merged into a contact already in the campaign or earlier in the file. */
  merged: number;
  /** Contacts given their number's time zone because the row had none. */
  timezonesDerived: number;
  /** How many rows were refused. */
  rejectedCount: number;
  /** The refused rows, the first {@link ImportOptions.maxRejectedListed} of them. */
  rejected: RejectedRow[];
}

export interface ImportOptions {
  /** Rows per INSERT. @defaultValue 500 */
  batchSize?: number;
  /** Refused rows listed in the report; the count covers them all. @defaultValue 1000 */
  maxRejectedListed?: number;
  /** Longest the import's transaction may stay open, in ms. @defaultValue 120000 */
  timeoutMs?: number;
}

type Tx = Parameters<Parameters<PrismaClient['$transaction']>[0]>[0];

/**
 * Upserts one batch (one row per phone); returns how many rows were new and how many contacts
 * took their number's zone.
 */
async function writeBatch(
  tx: Tx,
  campaignId: string,
  rows: ContactRow[],
): Promise<{ created: number; derived: number }> {
  const result = await tx.$queryRaw<Array<{ inserted: boolean }>>`
    INSERT INTO campaign_contacts (campaign_id, phone, name, timezone, max_attempts, variables,
                                   updated_at)
    SELECT ${campaignId}::uuid, t.phone, t.name, t.timezone, t.max_attempts, t.variables::jsonb,
           now()
      FROM unnest(${rows.map((r) => r.phone)}::text[],
                  ${rows.map((r) => r.name)}::text[],
                  ${rows.map((r) => r.timezone)}::text[],
                  ${rows.map((r) => r.maxAttempts)}::int[],
                  ${rows.map((r) => JSON.stringify(r.variables))}::text[])
           AS t(phone, name, timezone, max_attempts, variables)
    ON CONFLICT (campaign_id, phone) DO UPDATE
      SET name = COALESCE(EXCLUDED.name, campaign_contacts.name),
          timezone = COALESCE(EXCLUDED.timezone, campaign_contacts.timezone),
          max_attempts = COALESCE(EXCLUDED.max_attempts, campaign_contacts.max_attempts),
          variables = campaign_contacts.variables || EXCLUDED.variables,
          updated_at = now()
    RETURNING (xmax = 0) AS inserted`;
  // The number's zone only where no zone is recorded: one given (now or by an earlier import)
  // wins. A separate statement, because ON CONFLICT cannot tell a given zone from a derived one.
  const derived = rows.filter((r) => r.timezone === null && r.derivedTimezone !== null);
  const filled =
    derived.length === 0
      ? 0
      : await tx.$executeRaw`
          UPDATE campaign_contacts AS c SET timezone = d.zone
          FROM unnest(${derived.map((r) => r.phone)}::text[],
                      ${derived.map((r) => r.derivedTimezone)}::text[]) AS d(phone, zone)
          WHERE c.campaign_id = ${campaignId}::uuid AND c.phone = d.phone
            AND c.timezone IS NULL`;
  return { created: result.filter((r) => r.inserted).length, derived: filled };
}

/** Imports `rows` into a draft or paused campaign; the audit row carries the report's counts. */
export async function importContacts(
  prisma: PrismaClient,
  campaignId: string,
  actor: string,
  rows: AsyncIterable<RawContact>,
  options: ImportOptions = {},
): Promise<CampaignWrite<ImportReport>> {
  if (!UUID.test(campaignId)) return { kind: 'not_found' };
  const batchSize = options.batchSize ?? 500;
  const maxListed = options.maxRejectedListed ?? 1_000;
  return prisma.$transaction(
    async (tx) => {
      // FOR SHARE: a start or cancel waits for the import to commit, so no contact is added to a
      // campaign that is running or over.
      const [campaign] = await tx.$queryRaw<Array<{ status: string }>>`
        SELECT status::text AS status FROM campaigns WHERE id = ${campaignId}::uuid FOR SHARE`;
      if (campaign === undefined) return { kind: 'not_found' as const };
      if (!(EDITABLE as readonly string[]).includes(campaign.status)) {
        return { kind: 'conflict' as const, status: campaign.status };
      }
      const report: ImportReport = {
        accepted: 0,
        created: 0,
        merged: 0,
        timezonesDerived: 0,
        rejectedCount: 0,
        rejected: [],
      };
      const batch = new ContactBatch();
      let row = 0;
      let inBatch = 0;
      const flush = async () => {
        const contacts = batch.take();
        if (contacts.length === 0) return;
        const { created, derived } = await writeBatch(tx, campaignId, contacts);
        report.created += created;
        report.timezonesDerived += derived;
        report.merged += inBatch - created;
        inBatch = 0;
      };
      for await (const raw of rows) {
        row += 1;
        const read = readContact(row, raw);
        if (!read.ok) {
          report.rejectedCount += 1;
          if (report.rejected.length < maxListed) report.rejected.push(read.rejected);
          continue;
        }
        report.accepted += 1;
        inBatch += 1;
        batch.add(read.contact);
        if (batch.size >= batchSize) await flush();
      }
      await flush();
      await audit(tx, {
        actor,
        action: 'campaign.contacts.import',
        resourceId: campaignId,
        before: null,
        after: {
          accepted: report.accepted,
          created: report.created,
          merged: report.merged,
          rejected: report.rejectedCount,
        },
      });
      return { kind: 'ok' as const, value: report };
    },
    { timeout: options.timeoutMs ?? 120_000, maxWait: 10_000 },
  );
}
