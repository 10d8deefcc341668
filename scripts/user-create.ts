/**
 * `pnpm user:create <email> <role> [name]`: creates a dashboard user in the database at
 * DATABASE_URL, e.g. the first admin of a deployment (after that, admins manage users in the
 * dashboard or with `POST /v1/users`). The password is read from the environment variable
 * USER_PASSWORD, never from the arguments: those show in `ps` and in shell history. Only its
 * scrypt hash is stored. Roles: admin, operator (both act), viewer (reads only).
 */
import { createPrismaClient, Prisma } from '@app/db';
import { API_KEY_ROLES, createUser, MIN_PASSWORD_LENGTH } from '@app/gateway';

const USAGE =
  `usage: USER_PASSWORD=… pnpm user:create <email> <role> [name]   ` +
  `(role: ${API_KEY_ROLES.join(', ')}; password: at least ${MIN_PASSWORD_LENGTH} characters)`;

async function main(): Promise<number> {
  const [email, role, name, ...rest] = process.argv.slice(2);
  if (email === undefined || role === undefined || rest.length > 0) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const password = process.env.USER_PASSWORD;
  if (!password) {
    process.stderr.write(`USER_PASSWORD is not set\n${USAGE}\n`);
    return 2;
  }
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) {
    process.stderr.write(
      'DATABASE_URL is not set; for the database of `pnpm dev`:\n' +
        '  DATABASE_URL=postgresql://postgres:postgres@127.0.0.1:54329/voice pnpm user:create …\n',
    );
    return 2;
  }
  const prisma = createPrismaClient({ databaseUrl, poolMax: 1 });
  try {
    const user = await createUser(prisma, {
      email,
      role,
      // The part before the @ until someone gives the user a name.
      name: name ?? email.split('@')[0] ?? email,
      password,
    });
    process.stderr.write(`created user ${user.email} (role ${user.role}, id ${user.id})\n`);
    process.stdout.write(`${user.id}\n`);
    return 0;
  } catch (error) {
    if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002') {
      process.stderr.write(`a user with the email ${email.trim().toLowerCase()} exists\n`);
      return 1;
    }
    if (!(error instanceof RangeError)) throw error;
    process.stderr.write(`${error.message}\n${USAGE}\n`);
    return 2;
  } finally {
    await prisma.$disconnect();
  }
}

process.exitCode = await main();
