/**
 * Development seed: one agent answering one number, so a freshly migrated local database can take
 * a call from the simulators. Idempotent (upserts by the unique agent name and number), so it is
 * safe to run on every `pnpm dev`. Never run against production.
 *
 * Run: `DATABASE_URL=... pnpm --filter @app/db seed`.
 */
import { pathToFileURL } from 'node:url';

import { createPrismaClient, type PrismaClient } from '@app/db';

/** Name of the seeded agent. */
export const DEMO_AGENT_NAME = 'demo-receptionist';
/** Seeded number, in the +1 555 01xx range reserved for fiction. */
export const DEMO_PHONE_NUMBER = '+15555550100';

/** Upserts the demo agent and routes the demo number to it; returns their ids. */
export async function seed(
  prisma: PrismaClient,
): Promise<{ agentId: string; phoneNumberId: string }> {
  const agent = await prisma.agent.upsert({
    where: { name: DEMO_AGENT_NAME },
    update: {},
    create: {
      name: DEMO_AGENT_NAME,
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
  return { agentId: agent.id, phoneNumberId: phoneNumber.id };
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
