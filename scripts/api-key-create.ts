/**
 * `pnpm api-key:create <name> <role>`: creates a REST API key in the database at DATABASE_URL.
 * Only its SHA-256 is stored (`api_keys`); the key itself is printed once, alone on stdout, so
 * `KEY=$(pnpm -s api-key:create local-dev operator)` captures it. Everything else goes to
 * stderr. Roles: admin, operator (both may place calls), viewer (reads only).
 */
import { createPrismaClient } from '@app/db';
import { API_KEY_ROLES, createApiKey } from '@app/gateway';

const USAGE = `usage: pnpm api-key:create <name> <role>   (role: ${API_KEY_ROLES.join(', ')})`;

async function main(): Promise<number> {
  const [name, role, ...rest] = process.argv.slice(2);
  if (name === undefined || role === undefined || rest.length > 0) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) {
    process.stderr.write(
      'DATABASE_URL is not set; for the database of `pnpm dev`:\n' +
        '  DATABASE_URL=postgresql://postgres:postgres@127.0.0.1:54329/voice pnpm api-key:create …\n',
    );
    return 2;
  }
  const prisma = createPrismaClient({ databaseUrl, poolMax: 1 });
  try {
    const created = await createApiKey(prisma, { name, role });
    process.stderr.write(
      `created API key "${name.trim()}" (role ${created.role}, prefix ${created.prefix}, ` +
        `id ${created.id}). Keep it now: it is not stored and cannot be shown again.\n` +
        'Use it as: Authorization: Bearer <key>\n',
    );
    process.stdout.write(`${created.key}\n`);
    return 0;
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    process.stderr.write(`${error.message}\n${USAGE}\n`);
    return 2;
  } finally {
    await prisma.$disconnect();
  }
}

process.exitCode = await main();
