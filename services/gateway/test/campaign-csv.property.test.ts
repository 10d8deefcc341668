/**
 * Property: a campaign contact import, CSV or JSON, of any content answers a report or a clear
 * 4xx, never a 5xx, and stores exactly what the report says: nothing when the file is refused
 * (the import is one transaction, adapters/campaign-contact-import.ts), and by documented design
 * exactly the valid rows when some rows are bad (each bad row is listed in the report, the
 * valid ones are stored; duplicates of a phone merge into one contact). Real NATS and
 * PostgreSQL.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { campaignsFixture, type CampaignsFixture } from './campaigns-fixture.js';

let f: CampaignsFixture;
/** Small, so that large generated files also reach the limit. */
const BODY_LIMIT = 4 * 1024;
const RUNS = { numRuns: 120 };

beforeAll(async () => {
  f = await campaignsFixture({ importBodyLimit: BODY_LIMIT, importOptions: { batchSize: 3 } });
}, 60_000);

afterAll(async () => {
  await f?.close();
});

interface Report {
  accepted: number;
  created: number;
  merged: number;
  rejectedCount: number;
  rejected: Array<{ row: number; field: string; message: string }>;
}

const validPhone = fc
  .integer({ min: 0, max: 9_999_999 })
  .map((n) => `+1415${String(n).padStart(7, '0')}`);
const cell = fc.oneof(
  { weight: 3, arbitrary: validPhone },
  fc.string({ maxLength: 20 }),
  fc.constantFrom(
    '',
    '"',
    '""',
    ',',
    '\n',
    '\r\n',
    '\uFEFF',
    'Europe/Paris',
    'Mars/Olympus',
    '3',
    '-1',
    '+1 415 555 0100',
  ),
);
const column = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('phone', 'name', 'timezone', 'maxAttempts', 'plan') },
  fc.string({ maxLength: 8 }),
  fc.constantFrom('__proto__', 'constructor', ''),
);

/** A cell as a CSV writer quotes it. */
const quote = (v: string) => (/[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

/** A well-formed CSV (header, then rows) whose cells and header may be anything. */
const wellFormed = fc.uniqueArray(column, { minLength: 1, maxLength: 5 }).chain((header) =>
  fc
    .array(fc.array(cell, { minLength: header.length, maxLength: header.length }), {
      maxLength: 12,
    })
    .map((rows) => [header, ...rows].map((r) => r.map(quote).join(',')).join('\n')),
);
/** Bytes that were never CSV, and well-formed files cut or spliced at random. */
const mangled = fc.oneof(
  fc.string({ maxLength: 300 }),
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.tuple(wellFormed, fc.nat(), fc.string({ maxLength: 5 })).map(([csv, at, junk]) => {
    const i = at % (csv.length + 1);
    return csv.slice(0, i) + junk + csv.slice(i);
  }),
  wellFormed.map((csv) => `${csv}\n${'x'.repeat(BODY_LIMIT)}`),
);
const jsonContacts = fc.oneof(
  fc.array(
    fc.record(
      {
        phone: fc.oneof(validPhone, fc.jsonValue()),
        name: fc.oneof(fc.string(), fc.jsonValue()),
        timezone: fc.oneof(fc.constant('Europe/Paris'), fc.jsonValue()),
        maxAttempts: fc.oneof(fc.integer({ min: -2, max: 30 }), fc.jsonValue()),
        variables: fc.oneof(
          fc.dictionary(fc.string({ maxLength: 6 }), fc.string()),
          fc.jsonValue(),
        ),
      },
      { requiredKeys: [] },
    ),
    { maxLength: 8 },
  ),
  fc.jsonValue(),
);

/** Imports `body` into a new campaign and checks the property; returns the contacts created. */
async function importAndCheck(body: string, contentType: string): Promise<number> {
  const id = await f.createCampaign();
  const res = await f.call('POST', `/v1/campaigns/${id}/contacts`, body, { contentType });
  expect(res.statusCode, res.body).toBeLessThan(500);
  const stored = await f.prisma.campaignContact.count({ where: { campaignId: id } });
  if (res.statusCode !== 200) {
    expect(res.statusCode, res.body).toBeGreaterThanOrEqual(400);
    expect((res.json() as { error?: unknown }).error).toEqual(expect.any(String));
    // Refused as a whole: nothing stored.
    expect(stored).toBe(0);
    return 0;
  }
  const report = res.json<Report>();
  // Exactly the valid rows, each phone once; every bad row is reported.
  expect(stored).toBe(report.created);
  expect(report.accepted).toBe(report.created + report.merged);
  expect(report.rejected.length).toBe(report.rejectedCount);
  for (const r of report.rejected) expect(r.message.length).toBeGreaterThan(0);
  return report.created;
}

describe(
  'gateway campaign contact import - property: a report or a clear 4xx, stored all-or-valid',
  { timeout: 300_000 },
  () => {
    it('well-formed CSV of any content: rows counted, valid ones stored', async () => {
      let created = 0;
      await fc.assert(
        fc.asyncProperty(wellFormed, async (csv) => {
          created += await importAndCheck(csv, 'text/csv');
        }),
        RUNS,
      );
      // The generators reach stored contacts too, not only refusals.
      expect(created).toBeGreaterThan(0);
    });

    it('mangled CSV and bytes: a report or a 4xx, nothing stored when refused', async () => {
      await fc.assert(
        fc.asyncProperty(mangled, async (csv) => {
          await importAndCheck(csv, 'text/csv');
        }),
        RUNS,
      );
    });

    it('JSON bodies of any shape: a report or a 4xx, nothing stored when refused', async () => {
      await fc.assert(
        fc.asyncProperty(jsonContacts, async (body) => {
          await importAndCheck(JSON.stringify(body), 'application/json');
        }),
        RUNS,
      );
    });

    it('a file with one bad row among valid ones stores exactly the valid rows', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.uniqueArray(validPhone, { minLength: 1, maxLength: 6 }),
          fc.constantFrom('not a phone', '', '+1415abc', '(415) 555-0100'),
          fc.nat(),
          async (phones, bad, at) => {
            const rows = phones.map((p) => `${p},Someone`);
            rows.splice(at % (rows.length + 1), 0, `${quote(bad)},Bad`);
            const id = await f.createCampaign();
            const res = await f.call(
              'POST',
              `/v1/campaigns/${id}/contacts`,
              ['phone,name', ...rows].join('\n'),
              { contentType: 'text/csv' },
            );
            expect(res.statusCode, res.body).toBe(200);
            expect(res.json<Report>()).toMatchObject({ created: phones.length, rejectedCount: 1 });
            const stored = await f.prisma.campaignContact.findMany({
              where: { campaignId: id },
              select: { phone: true },
            });
            expect(stored.map((c) => c.phone).sort()).toEqual([...phones].sort());
          },
        ),
        { numRuns: 40 },
      );
    });
  },
);
