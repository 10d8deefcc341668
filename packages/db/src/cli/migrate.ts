/**
 * `pnpm --filter @app/db migrate` (or `node dist/cli/migrate.js` in an image): applies pending
 * migrations to DATABASE_URL. Prints one JSON line per applied migration on stdout; on error
 * prints one line on stderr and exits 1.
 *
 * Env: DATABASE_URL (required), MIGRATIONS_DIR (optional, default: the repository's
 * prisma/migrations, see `defaultMigrationsDir`).
 */
import { migrate } from '../migrate.js';

async function main(): Promise<void> {
  const databaseUrl = process.env.DATABASE_URL;
  if (databaseUrl === undefined || databaseUrl === '') {
    throw new Error(
      'DATABASE_URL is not set: set it to postgresql://user:password@host:5432/database',
    );
  }
  const migrationsDir = process.env.MIGRATIONS_DIR || undefined;
  const write = (fields: Record<string, unknown>, msg: string): void => {
    process.stdout.write(`${JSON.stringify({ level: 'info', msg, ...fields })}\n`);
  };
  await migrate({
    databaseUrl,
    ...(migrationsDir === undefined ? {} : { migrationsDir }),
    log: {
      info: write,
      warn: (fields, msg) =>
        process.stderr.write(`${JSON.stringify({ level: 'warn', msg, ...fields })}\n`),
    },
  });
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`migrate: ${message.split('\n', 1)[0] ?? ''}\n`);
    process.exit(1);
  },
);
