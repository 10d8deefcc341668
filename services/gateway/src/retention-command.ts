/**
 * The retention job as a command: reads its environment (`retentionEnvSchema`), applies the
 * policies once and exits. Run by `pnpm retention:run` (scripts/retention-run.ts, from source)
 * and by the `retention` CronJob (`node dist/retention-main.js` in the gateway image).
 */
import { z } from 'zod';

import { createPrismaClient } from '@app/db';

import { policiesOf, retentionEnvSchema, runRetention } from './adapters/retention.js';

/** Runs the job; the exit code (0 done, 1 failed, 2 bad configuration). */
export async function runRetentionCommand(
  env: Record<string, string | undefined>,
  write: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): Promise<number> {
  const parsed = retentionEnvSchema.safeParse(env);
  if (!parsed.success) {
    write(`invalid retention configuration:\n${z.prettifyError(parsed.error)}`);
    return 2;
  }
  const prisma = createPrismaClient({ databaseUrl: parsed.data.DATABASE_URL, poolMax: 1 });
  try {
    const report = await runRetention(prisma, {
      policies: policiesOf(parsed.data),
      batchSize: parsed.data.RETENTION_BATCH_SIZE,
      log: write,
    });
    write(JSON.stringify(report));
    return 0;
  } catch (error) {
    write(`retention failed: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  } finally {
    await prisma.$disconnect();
  }
}
