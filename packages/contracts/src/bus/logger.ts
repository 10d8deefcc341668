/**
 * The logger the bus helpers write to: the subset of pino's `Logger` they use, so a pino logger
 * (or a child with `{ service }`) can be passed as is, and tests can pass a recording one.
 * Fields first, a static message second (STYLE.md 6.7).
 */
export interface BusLogger {
  warn(fields: Record<string, unknown>, msg: string): void;
  error(fields: Record<string, unknown>, msg: string): void;
  debug?(fields: Record<string, unknown>, msg: string): void;
}
