/**
 * Development seed: one agent answering one number, so a freshly migrated local database can take
 * a call from the simulators, and a dashboard admin to sign in with. Idempotent (upserts by the
 * unique agent name, number and email), so it is safe to run on every `pnpm dev`. Never run
 * against production: the admin's password is public.
 *
 * Run: `DATABASE_URL=... pnpm --filter @app/db seed`.
 */
import { pathToFileURL } from 'node:url';

import { createPrismaClient, type PrismaClient } from '@app/db';
import { hashPassword, verifyPassword } from '@app/gateway';

/** Name of the seeded agent. */
export const DEMO_AGENT_NAME = 'demo-receptionist';
/** Seeded number, in the +1 555 01xx range reserved for fiction. */
export const DEMO_PHONE_NUMBER = '+15555550100';

/** The demo agent's tools: every built-in of the tool-runner. */
export const DEMO_TOOLS = [
  'get_time',
  'schedule_callback',
  'end_call',
  'transfer_to_human',
  'take_message',
] as const;
/** Seeded human agent, so `transfer_to_human` has someone to reach (the simulator answers). */
export const DEMO_HUMAN_NAME = 'Front desk (demo)';
export const DEMO_HUMAN_PHONE = '+15555550150';
/** Seeded dashboard admin: a public, development-only sign-in. */
export const DEV_ADMIN_EMAIL = 'admin@example.com';
export const DEV_ADMIN_PASSWORD = 'admin-dev-password';

/**
 * Upserts the demo agent (with the built-in tools), routes the demo number to it, makes sure
 * a demo human agent exists (available, skill `reception`) and that {@link DEV_ADMIN_EMAIL} can
 * sign in as an admin with {@link DEV_ADMIN_PASSWORD}; returns the agent's and number's ids.
 */
export async function seed(
  prisma: PrismaClient,
): Promise<{ agentId: string; phoneNumberId: string }> {
  const agent = await prisma.agent.upsert({
    where: { name: DEMO_AGENT_NAME },
    update: { toolNames: [...DEMO_TOOLS] },
    create: {
      name: DEMO_AGENT_NAME,
      toolNames: [...DEMO_TOOLS],
      instructions:
        'You are the receptionist of a small clinic. Greet the caller, ask how you can help, ' +
        'and offer to transfer them to a human when you cannot.',
      transferTargets: [{ name: 'front desk', skill: 'reception' }],
      // Speaks first (the default), with an opening line of its own.
      greetFirst: true,
      greeting: 'Say that the caller reached the clinic and ask how you can help, in one sentence.',
    },
  });
  const phoneNumber = await prisma.phoneNumber.upsert({
    where: { e164: DEMO_PHONE_NUMBER },
    update: { agentId: agent.id },
    create: { e164: DEMO_PHONE_NUMBER, agentId: agent.id },
  });
  // Human agents have no unique name: create the demo one only when it is missing.
  const human = await prisma.humanAgent.findFirst({ where: { name: DEMO_HUMAN_NAME } });
  if (!human) {
    await prisma.humanAgent.create({
      data: {
        name: DEMO_HUMAN_NAME,
        skills: ['reception'],
        phoneNumber: DEMO_HUMAN_PHONE,
        status: 'available',
        availableSince: new Date(),
      },
    });
  }
  await seedDevAdmin(prisma);
  return { agentId: agent.id, phoneNumberId: phoneNumber.id };
}

/** The dev admin, enabled, with the dev password; the hash is kept when it still matches. */
async function seedDevAdmin(prisma: PrismaClient): Promise<void> {
  const existing = await prisma.user.findUnique({
    where: { email: DEV_ADMIN_EMAIL },
    select: { passwordHash: true },
  });
  // A fresh hash only when needed: scrypt is slow on purpose, and every `pnpm dev` seeds.
  const passwordHash =
    existing !== null && (await verifyPassword(DEV_ADMIN_PASSWORD, existing.passwordHash))
      ? existing.passwordHash
      : await hashPassword(DEV_ADMIN_PASSWORD);
  await prisma.user.upsert({
    where: { email: DEV_ADMIN_EMAIL },
    update: { role: 'admin', disabledAt: null, passwordHash },
    create: { email: DEV_ADMIN_EMAIL, name: 'Dev admin', role: 'admin', passwordHash },
  });
}

async function main(): Promise<void> {
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) throw new Error('DATABASE_URL is not set');
  const prisma = createPrismaClient({ databaseUrl, poolMax: 1 });
  try {
    const ids = await seed(prisma);
    process.stdout.write(`${JSON.stringify({ level: 'info', msg: 'seeded', ...ids })}\n`);
  } finally {
    await prisma.$disconnect();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    process.stderr.write(`seed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
