/**
 * Migration `20261201040000_audit_append_only_and_retention` on a database that already has
 * audit rows with phone numbers: it masks them once (the one sanctioned rewrite), leaves the
 * table append-only afterwards, and masks every later insert.
 */
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import pg from 'pg';
import { describe, expect, it, onTestFinished } from 'vitest';

import { defaultMigrationsDir, migrate } from '../src/index.js';
import { createTestDatabase } from '../src/testing.js';

const MIGRATION = '20261201040000_audit_append_only_and_retention';

/** The migrations folder as it was before `MIGRATION` (and anything after it). */
function migrationsBefore(): string {
  const dir = mkdtempSync(join(tmpdir(), 'db-migrations-before-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  for (const entry of readdirSync(defaultMigrationsDir(), { withFileTypes: true })) {
    if (entry.isDirectory() && entry.name >= MIGRATION) continue;
    cpSync(join(defaultMigrationsDir(), entry.name), join(dir, entry.name), { recursive: true });
  }
  return dir;
}

describe(`migration ${MIGRATION}`, { timeout: 60_000 }, () => {
  it('masks the numbers of existing audit rows once, then keeps the table append-only', async () => {
    const db = await createTestDatabase({ migrationsDir: migrationsBefore() });
    onTestFinished(() => db.drop());
    const client = new pg.Client({ connectionString: db.databaseUrl });
    await client.connect();
    onTestFinished(() => client.end());

    await client.query(
      `INSERT INTO audit_logs (actor, action, resource_type, resource_id, before, after)
       VALUES ('api-key:vpk_x', 'do_not_call.create', 'do_not_call_entry', '+14155550199',
               NULL, '{"phone": "+14155550199", "reason": "asked"}'),
              ('api-key:vpk_x', 'agent.update', 'agent', 'a1', '{"name": "A"}', '{"name": "B"}')`,
    );
    // Before the migration the rows are as written.
    expect(
      (
        await client.query(
          `SELECT count(*)::int AS n FROM audit_logs WHERE after::text LIKE '%4155550199%'`,
        )
      ).rows,
    ).toEqual([{ n: 1 }]);

    await migrate({ databaseUrl: db.databaseUrl });

    const rows = (
      await client.query<{ action: string; resource_id: string; before: unknown; after: unknown }>(
        'SELECT action, resource_id, before, after FROM audit_logs ORDER BY action',
      )
    ).rows;
    expect(rows).toEqual([
      { action: 'agent.update', resource_id: 'a1', before: { name: 'A' }, after: { name: 'B' } },
      {
        action: 'do_not_call.create',
        resource_id: '+14***99',
        before: null,
        after: { phone: '+14***99', reason: 'asked' },
      },
    ]);
    // The append-only trigger is back on after the migration's rewrite.
    await expect(client.query(`UPDATE audit_logs SET actor = 'x'`)).rejects.toThrow(
      /append-only: UPDATE is not allowed/,
    );
    await client.query(
      `INSERT INTO audit_logs (actor, action, resource_type, after)
       VALUES ('system:test', 'x', 'thing', '{"to": "+33612345678"}')`,
    );
    expect(
      (await client.query(`SELECT after FROM audit_logs WHERE actor = 'system:test'`)).rows,
    ).toEqual([{ after: { to: '+33***78' } }]);
  });
});
