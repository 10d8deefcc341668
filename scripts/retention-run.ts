/**
 * `pnpm retention:run`: applies the data-retention policies (RETENTION_* variables, README
 * "Configuration") once to the database at DATABASE_URL and prints what it removed. The
 * `retention` CronJob in k8s/base runs the same code on a schedule.
 */
import { runRetentionCommand } from '@app/gateway';

process.exitCode = await runRetentionCommand(process.env);
