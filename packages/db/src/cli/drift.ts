/**
 * `pnpm --filter @app/db drift`: the CI drift check. Compares a migrated database with
 * prisma/schema.prisma and lists every difference. With DATABASE_URL set it checks that
 * database; without it, it creates a throwaway database, applies the migrations, checks it and
 * drops it (TEST_DATABASE_ADMIN_URL picks the server). Then asks Prisma's own schema engine
 * whether the migrations produce the data model (scratch databases on TEST_DATABASE_ADMIN_URL,
 * else the default local server). Exits 1 on drift or error.
 */
import {
  defaultSchemaPath,
  findSchemaDrift,
  formatSchemaDrift,
  prismaMigrationDiff,
} from '../drift.js';
import { defaultMigrationsDir } from '../migrate.js';
import { createTestDatabase, type TestDatabase } from '../testing.js';

const DEFAULT_ADMIN_URL = 'postgresql://postgres@127.0.0.1:5432/postgres';

async function main(): Promise<number> {
  const given = process.env.DATABASE_URL || undefined;
  let scratch: TestDatabase | undefined;
  try {
    if (given === undefined) scratch = await createTestDatabase();
    const databaseUrl = given ?? scratch?.databaseUrl ?? '';
    const differences = await findSchemaDrift({ databaseUrl });
    if (differences.length > 0) {
      process.stderr.write(
        `drift: ${differences.length} difference(s) between the migrated database and prisma/schema.prisma:\n${formatSchemaDrift(differences)}\n`,
      );
      return 1;
    }
    const missing = await prismaMigrationDiff({
      adminUrl: process.env.TEST_DATABASE_ADMIN_URL ?? DEFAULT_ADMIN_URL,
      migrationsDir: defaultMigrationsDir(),
      schemaPath: defaultSchemaPath(),
    });
    if (missing !== '') {
      process.stderr.write(
        `drift: prisma/migrations lacks SQL that prisma/schema.prisma needs (add it with migration:new):\n${missing.trimEnd()}\n`,
      );
      return 1;
    }
    process.stdout.write('drift: the migrated database matches prisma/schema.prisma\n');
    return 0;
  } finally {
    await scratch?.drop();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`drift: ${message.split('\n', 1)[0] ?? ''}\n`);
    process.exit(1);
  },
);
