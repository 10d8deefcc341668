/**
 * Test helpers for code that logs: a real pino logger whose JSON lines are kept, parsed, so a
 * test asserts on what was logged (STYLE.md 6.7) without writing to the console.
 */
import { Writable } from 'node:stream';

import { createLogger, type CreateLoggerOptions, type Logger } from './logger.js';

/** A logger and the lines it wrote so far, each parsed from JSON. */
export interface CapturedLogs {
  log: Logger;
  lines: Record<string, unknown>[];
  /** Messages (`msg`) of the lines so far, in order. */
  messages(): string[];
}

/**
 * Builds a logger exactly as services do, writing into memory.
 * @defaultValue service 'test', version '0.0.0'; any option can be overridden.
 */
export function captureLogs(opts: Partial<CreateLoggerOptions> = {}): CapturedLogs {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) {
        if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      }
      done();
    },
  });
  const log = createLogger({ service: 'test', version: '0.0.0', destination, ...opts });
  return { log, lines, messages: () => lines.map((l) => String(l.msg)) };
}
