/**
 * `pnpm --filter @app/db migration:new <name>`: writes the next migration after a change to
 * prisma/schema.prisma, exactly as `prisma migrate diff` would (Prisma's own schema engine, Wasm
 * build, replaying prisma/migrations on a scratch database). Review the SQL before committing it.
 *
 * Env: TEST_DATABASE_ADMIN_URL (server for the scratch databases, needs CREATEDB; default
 * postgresql://postgres@127.0.0.1:5432/postgres), MIGRATIONS_DIR (default: prisma/migrations).
 */
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { defaultSchemaPath, prismaMigrationDiff } from '../drift.js';
import { defaultMigrationsDir } from '../migrate.js';

const NAME = /^[a-z0-9][a-z0-9_]*$/;

/** UTC `yyyymmddhhmmss`, the prefix Prisma gives migration folders. */
function timestamp(at: Date): string {
  return at.toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

/** Now, or one second after the newest folder if that is later, so the new folder sorts last. */
async function nextTimestamp(migrationsDir: string): Promise<string> {
  const prefixes = (await readdir(migrationsDir))
    .map((n) => n.slice(0, 14))
    .filter((p) => /^\d{14}$/.test(p));
  const last = prefixes.sort().at(-1);
  const now = timestamp(new Date());
  if (last === undefined || now > last) return now;
  const [, y, mo, d, h, mi, s] = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(last) ?? [];
  const lastDate = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  return timestamp(new Date(lastDate + 1_000));
}

async function main(): Promise<void> {
  const name = process.argv[2] ?? '';
  if (!NAME.test(name)) {
    throw new Error(`usage: migration:new <name> (snake_case, e.g. add_call_notes), got "${name}"`);
  }
  const migrationsDir = process.env.MIGRATIONS_DIR || defaultMigrationsDir();
  const script = await prismaMigrationDiff({
    adminUrl:
      process.env.TEST_DATABASE_ADMIN_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres',
    migrationsDir,
    schemaPath: defaultSchemaPath(),
  });
  if (script.trim() === '') {
    process.stdout.write(
      'migration:new: prisma/schema.prisma matches the migrations, nothing to write\n',
    );
    return;
  }
  const dir = join(migrationsDir, `${await nextTimestamp(migrationsDir)}_${name}`);
  await mkdir(dir);
  await writeFile(join(dir, 'migration.sql'), `${script.trimEnd()}\n`);
  process.stdout.write(`migration:new: wrote ${join(dir, 'migration.sql')}\n`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`migration:new: ${message.split('\n', 1)[0] ?? ''}\n`);
    process.exit(1);
  },
);
