import { readFileSync } from 'node:fs';

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  defaultSchemaPath,
  findSchemaDrift,
  formatSchemaDrift,
  prismaMigrationDiff,
} from '../src/drift.js';
import { defaultMigrationsDir } from '../src/migrate.js';
import { createTestDatabase, type TestDatabase } from '../src/testing.js';

const SCHEMA_PATH = defaultSchemaPath();
const SCHEMA = readFileSync(SCHEMA_PATH, 'utf8');
const ADMIN_URL =
  process.env.TEST_DATABASE_ADMIN_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

/** schema.prisma without the `Call.endReason` field. */
function withoutEndReason(): string {
  const lines = SCHEMA.split('\n');
  const at = lines.findIndex((line) => /^\s+endReason\s/.test(line));
  expect(at).toBeGreaterThan(0);
  return [...lines.slice(0, at), ...lines.slice(at + 1)].join('\n');
}

async function execute(databaseUrl: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

describe(
  'drift - the migrations produce exactly the Prisma data model',
  { timeout: 30_000 },
  () => {
    let db: TestDatabase;
    let altered: TestDatabase;

    beforeAll(async () => {
      [db, altered] = await Promise.all([createTestDatabase(), createTestDatabase()]);
    });

    afterAll(async () => {
      await Promise.all([db?.drop(), altered?.drop()]);
    });

    it('finds no difference between the migrated database and prisma/schema.prisma', async () => {
      const differences = await findSchemaDrift({
        databaseUrl: db.databaseUrl,
        schemaPath: SCHEMA_PATH,
      });
      // On failure the message lists every difference, one per line.
      expect(formatSchemaDrift(differences)).toBe('');
    });

    it('reports a field deleted from the data model (the database still has the column)', async () => {
      const datamodel = withoutEndReason();

      const differences = await findSchemaDrift({ databaseUrl: db.databaseUrl, datamodel });
      expect(differences).toEqual([
        {
          kind: 'column',
          object: 'calls.end_reason',
          message: 'in the database (text NULL) but not in the schema',
        },
      ]);
    });

    it('reports a column dropped from the database (the data model still has the field)', async () => {
      await execute(altered.databaseUrl, 'ALTER TABLE "calls" DROP COLUMN "end_reason"');
      const differences = await findSchemaDrift({
        databaseUrl: altered.databaseUrl,
        schemaPath: SCHEMA_PATH,
      });
      expect(differences).toEqual([
        {
          kind: 'column',
          object: 'calls.end_reason',
          message: 'missing in the database (schema: text NULL)',
        },
      ]);
    });

    it('lists every kind of difference at once: type, nullability, enum, unique, index, foreign key, table', async () => {
      const scratch = await createTestDatabase();
      try {
        await execute(
          scratch.databaseUrl,
          `ALTER TABLE "calls" ALTER COLUMN "setup_ms" TYPE BIGINT;
         ALTER TABLE "calls" ALTER COLUMN "bridge_pod" SET NOT NULL;
         ALTER TYPE "call_status" ADD VALUE 'voicemail';
         DROP INDEX "call_events_event_id_key";
         DROP INDEX "calls_created_at_idx";
         CREATE INDEX "calls_created_at_idx" ON "calls"("created_at");
         ALTER TABLE "handoffs" DROP CONSTRAINT "handoffs_call_id_fkey";
         ALTER TABLE "handoffs" ADD CONSTRAINT "handoffs_call_id_fkey" FOREIGN KEY ("call_id")
           REFERENCES "calls"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
         CREATE TABLE "scratch_notes" ("id" INTEGER PRIMARY KEY);`,
        );
        const differences = await findSchemaDrift({
          databaseUrl: scratch.databaseUrl,
          schemaPath: SCHEMA_PATH,
        });
        expect(differences).toEqual(
          expect.arrayContaining([
            {
              kind: 'column',
              object: 'calls.setup_ms',
              message: 'type is bigint in the database, integer in the schema',
            },
            {
              kind: 'column',
              object: 'calls.bridge_pod',
              message: 'NOT NULL in the database, NULL in the schema',
            },
            {
              kind: 'enum',
              object: 'call_status',
              message: 'values in the database but not in the schema: voicemail',
            },
            {
              kind: 'index',
              object: 'call_events_event_id_key',
              message: 'missing in the database (schema: UNIQUE INDEX ON call_events (event_id))',
            },
            {
              kind: 'index',
              object: 'calls_created_at_idx',
              message: 'missing in the database (schema: INDEX ON calls (created_at DESC))',
            },
            {
              kind: 'index',
              object: 'calls_created_at_idx',
              message: 'in the database (INDEX ON calls (created_at)) but not in the schema',
            },
            {
              kind: 'foreign-key',
              object: 'handoffs(call_id)',
              message:
                'ON DELETE RESTRICT ON UPDATE CASCADE in the database, ON DELETE CASCADE ON UPDATE CASCADE in the schema',
            },
            {
              kind: 'table',
              object: 'scratch_notes',
              message: 'in the database but not in the schema',
            },
          ]),
        );
        expect(differences).toHaveLength(8);
      } finally {
        await scratch.drop();
      }
    });

    it("Prisma's own schema engine finds nothing missing: the migrations produce schema.prisma", async () => {
      const script = await prismaMigrationDiff({
        adminUrl: ADMIN_URL,
        migrationsDir: defaultMigrationsDir(),
        schemaPath: SCHEMA_PATH,
      });
      expect(script).toBe('');
    });

    it("Prisma's own schema engine writes the SQL for a field deleted from the data model", async () => {
      const script = await prismaMigrationDiff({
        adminUrl: ADMIN_URL,
        migrationsDir: defaultMigrationsDir(),
        datamodel: withoutEndReason(),
      });
      expect(script.trim()).toBe('-- AlterTable\nALTER TABLE "calls" DROP COLUMN "end_reason";');
    });
  },
);
