#!/usr/bin/env node
/**
 * `pnpm sim` — start both simulators;  `pnpm sim call` — place a scenario call and print what
 * was said. Arguments are parsed with node:util parseArgs; `--help` lists them.
 */
import { parseArgs } from 'node:util';

import { runCallCommand } from './call-command.js';
import { runStartCommand } from './start-command.js';

const USAGE = `usage:
  sim [start] [--host 127.0.0.1] [--twilio-port 3010] [--openai-port 3011] [--openai-tls-port 3012]
              [--control-port 3013] [--pacing realtime|fast] [--webhook-url URL] [--voice-url URL]
  sim call --scenario FILE|NAME [--to +15555550199] [--from +15555550142]
              [--control http://127.0.0.1:3013] [--json] [--timeout-ms 120000]
`;

async function main(argv: string[]): Promise<number> {
  const command = argv[0] && !argv[0].startsWith('-') ? argv[0] : 'start';
  const args = command === argv[0] ? argv.slice(1) : argv;
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (command === 'start')
    return runStartCommand(parseArgs({ args, options: START_OPTIONS }).values);
  if (command === 'call') return runCallCommand(parseArgs({ args, options: CALL_OPTIONS }).values);
  process.stderr.write(`sim: unknown command "${command}"\n${USAGE}`);
  return 2;
}

const START_OPTIONS = {
  host: { type: 'string' },
  'twilio-port': { type: 'string' },
  'openai-port': { type: 'string' },
  'openai-tls-port': { type: 'string' },
  'control-port': { type: 'string' },
  pacing: { type: 'string' },
  'webhook-url': { type: 'string' },
  'voice-url': { type: 'string' },
} as const;

const CALL_OPTIONS = {
  scenario: { type: 'string' },
  to: { type: 'string' },
  from: { type: 'string' },
  control: { type: 'string' },
  json: { type: 'boolean' },
  'timeout-ms': { type: 'string' },
} as const;

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== 0) process.exit(code);
  },
  (err: unknown) => {
    process.stderr.write(`sim: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
