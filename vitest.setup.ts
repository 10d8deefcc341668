/* eslint-disable no-console -- this file guards console.* itself */
// Tests must not write to the console: output belongs to injected loggers that tests assert on.
// A stray console.* is a bug (a log line that bypassed pino, or a forgotten debug print).
import { afterEach, beforeEach } from 'vitest';

const methods = ['log', 'info', 'warn', 'error', 'debug'] as const;
let stray: string[] = [];
const originals = new Map<string, (...args: unknown[]) => void>();

beforeEach(() => {
  stray = [];
  for (const m of methods) {
    originals.set(m, console[m]);
    console[m] = (...args: unknown[]) => {
      stray.push(`console.${m}: ${args.map(String).join(' ')}`);
    };
  }
});

afterEach(() => {
  for (const m of methods) console[m] = originals.get(m) as (...args: unknown[]) => void;
  if (stray.length > 0) {
    throw new Error(`test wrote to the console:\n${stray.join('\n')}`);
  }
});
