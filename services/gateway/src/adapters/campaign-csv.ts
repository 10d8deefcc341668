/**
 * A contacts CSV read as a stream with csv-parse: `phone,name,<any other column>` (the header
 * row names the columns; optional `timezone` and `maxAttempts` columns are the contact's IANA zone and its attempt limit; every other
 * column becomes a variable). Records are yielded one at a time, so a file of any length is
 * never held in memory, and the body is cut off at `maxBytes`.
 */
import { Transform, type Readable } from 'node:stream';

import { CsvError, parse } from 'csv-parse';

import type { RawContact } from '../domain/campaign-contacts.js';

/** Columns that are fields of the contact; every other column is a variable. */
const RESERVED = new Set(['phone', 'name', 'timezone', 'maxAttempts']);

/** The file cannot be read as contacts at all (no phone column, broken quoting): nothing is stored. */
export class CsvImportError extends Error {
  readonly code = 'CSV_INVALID';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The body is larger than allowed (HTTP 413). */
export class BodyTooLargeError extends Error {
  readonly statusCode = 413;
  constructor(maxBytes: number) {
    super(`the body is larger than ${maxBytes} bytes: split the file`);
    this.name = new.target.name;
  }
}

/** Fails the stream once more than `maxBytes` have gone through. */
function byteLimit(maxBytes: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      seen += chunk.length;
      if (seen > maxBytes) callback(new BodyTooLargeError(maxBytes));
      else callback(null, chunk);
    },
  });
}

/** Yields each data row as a {@link RawContact}; throws {@link CsvImportError} for a bad file. */
export async function* csvContacts(body: Readable, maxBytes: number): AsyncGenerator<RawContact> {
  const limit = byteLimit(maxBytes);
  body.on('error', (err) => limit.destroy(err));
  const parser = parse({
    bom: true,
    columns: (header: string[]) => header.map((h) => h.trim()),
    skip_empty_lines: true,
    // A short or long row is one bad row of the report, not a failed import.
    relax_column_count: true,
    trim: true,
  });
  const records = body.pipe(limit).pipe(parser);
  limit.on('error', (err) => parser.destroy(err));
  let checkedHeader = false;
  try {
    for await (const record of records as AsyncIterable<Record<string, string | undefined>>) {
      if (!checkedHeader) {
        if (!Object.hasOwn(record, 'phone')) {
          throw new CsvImportError('the header row must have a phone column: phone,name,...');
        }
        checkedHeader = true;
      }
      const variables: Record<string, string> = {};
      for (const [key, value] of Object.entries(record)) {
        if (!RESERVED.has(key) && key !== '' && value !== undefined) {
          variables[key] = value;
        }
      }
      yield {
        phone: record.phone ?? '',
        name: record.name,
        timezone: record.timezone,
        maxAttempts: record.maxAttempts,
        variables,
      };
    }
  } catch (err) {
    if (err instanceof CsvImportError || err instanceof BodyTooLargeError) throw err;
    // csv-parse's codes are not all `CSV_…` (`INVALID_OPENING_QUOTE`): its error class says it.
    const code = (err as { code?: unknown }).code;
    if (err instanceof CsvError || (typeof code === 'string' && code.startsWith('CSV_'))) {
      throw new CsvImportError(`the file is not valid CSV: ${(err as Error).message}`, {
        cause: err,
      });
    }
    throw err;
  } finally {
    body.unpipe(limit);
    body.resume();
  }
}
