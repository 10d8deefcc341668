// The `retention` CronJob's entry point in the gateway image: `node dist/retention-main.js`.
import { runRetentionCommand } from './retention-command.js';

process.exitCode = await runRetentionCommand(process.env);
