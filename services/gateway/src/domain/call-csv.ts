/**
 * The call export's CSV: its columns, the formula-injection guard on every cell, and the
 * download's file name. Pure; the route streams it.
 */
import type { CallSummary } from '../adapters/call-reports.js';

/** The columns, in order: the fields of a call summary. */
export const CALL_CSV_COLUMNS = [
  'id',
  'direction',
  'transport',
  'fromNumber',
  'toNumber',
  'status',
  'endReason',
  'agentId',
  'agentName',
  'campaignId',
  'campaignName',
  'createdAt',
  'answeredAt',
  'endedAt',
  'durationMs',
  'setupMs',
] as const satisfies ReadonlyArray<keyof CallSummary>;

/**
 * A spreadsheet runs a cell that starts with `=`, `+`, `-` or `@` as a formula (tab and CR are
 * read past first), and a caller's number or an agent's name is anyone's text. OWASP's "CSV
 * Injection" advice: prefix such a cell with `'` so it is shown as text. Quoting is csv-stringify's
 * job. E.164 numbers start with `+`, so they come out as `'+15551234567`: the price of a rule
 * with no exceptions to get wrong.
 */
export function guardCell(value: string): string {
  return /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
}

/** One call as the cells of its row, in {@link CALL_CSV_COLUMNS} order; null is empty. */
export function callCsvRecord(call: CallSummary): string[] {
  return CALL_CSV_COLUMNS.map((column) => {
    const value = call[column];
    return value === null ? '' : guardCell(String(value));
  });
}

/**
 * Part of the file name for a date: `2026-03-01` at midnight UTC, else `2026-03-01T093000Z`
 * (no `:`, which some file systems refuse); `start`/`now` when the range is open.
 */
function nameOf(date: Date | undefined, open: string): string {
  if (date === undefined) return open;
  const text = date.toISOString();
  if (text.endsWith('T00:00:00.000Z')) return text.slice(0, 10);
  return `${text.slice(0, 10)}T${text.slice(11, 19).replaceAll(':', '')}Z`;
}

/** `calls-<from>-<to>.csv`, built only from validated dates: no client text reaches the header. */
export function callCsvFilename(from: Date | undefined, to: Date | undefined): string {
  return `calls-${nameOf(from, 'start')}-${nameOf(to, 'now')}.csv`;
}
