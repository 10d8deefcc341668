/**
 * Contacts of an import, row by row: validation (phone via `parsePhone`, timezone via `Intl`), the
 * time zone derived from the number when none is given (`timeZoneOf`: Google libphonenumber's
 * prefix map, read from the package's data file once), and the merge of rows with the same phone
 * (the later row's name, timezone, maxAttempts and variables win, the variables key by key).
 */
import { MAX_RETRY_ATTEMPTS, parsePhone, timeZoneOf } from '@app/dialing';

import { isTimeZone } from './campaign-input.js';

/** One valid contact row. */
export interface ContactRow {
  /** E.164. */
  phone: string;
  /** Null: not given (an existing contact keeps its name). */
  name: string | null;
  /** IANA zone of the contact's calling windows, as given; null: not given. */
  timezone: string | null;
  /**
   * The number's zone when it maps to exactly one (only for a row without `timezone`); null:
   * none, the campaign's zone applies. Fills only a contact that has no zone yet.
   */
  derivedTimezone: string | null;
  /** Attempts for this contact, overriding the campaign's retry policy; null: not given. */
  maxAttempts: number | null;
  variables: Record<string, string>;
}

/** One refused row of the report. */
export interface RejectedRow {
  /** 1-based position among the data rows (a CSV's header row is not counted). */
  row: number;
  field: string;
  message: string;
}

/** Longest name, variable name and value kept; longer is refused rather than cut. */
const MAX_NAME = 200;
const MAX_VARIABLE_NAME = 64;
const MAX_VARIABLE_VALUE = 4_096;
const MAX_VARIABLES = 50;

/** A row as read from the CSV (`phone,name,<variables…>`) or the JSON array. */
export interface RawContact {
  phone?: unknown;
  name?: unknown;
  timezone?: unknown;
  maxAttempts?: unknown;
  variables?: unknown;
}

/** Validates one row; `row` is its 1-based position among the data rows. */
export function readContact(
  row: number,
  raw: RawContact,
): { ok: true; contact: ContactRow } | { ok: false; rejected: RejectedRow } {
  const reject = (field: string, message: string) => ({
    ok: false as const,
    rejected: { row, field, message },
  });
  // A JSON array may hold anything: `[null]`, `[42]` is a bad row, not a crash.
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return reject('contact', 'a contact must be an object like { "phone": "+14155550100" }');
  }
  if (typeof raw.phone !== 'string' || raw.phone.trim() === '') {
    return reject('phone', 'phone is empty: an international number like +14155550100 is required');
  }
  const phone = parsePhone('phone', raw.phone);
  if (!phone.ok) return reject('phone', phone.issue.message);

  let name: string | null = null;
  if (raw.name !== undefined && raw.name !== null) {
    if (typeof raw.name !== 'string') return reject('name', 'name must be a string');
    if (raw.name.length > MAX_NAME)
      return reject('name', `name is longer than ${MAX_NAME} characters`);
    name = raw.name.trim() === '' ? null : raw.name.trim();
  }

  let timezone: string | null = null;
  if (raw.timezone !== undefined && raw.timezone !== null && raw.timezone !== '') {
    if (typeof raw.timezone !== 'string' || !isTimeZone(raw.timezone.trim())) {
      return reject('timezone', 'timezone must be an IANA time zone, e.g. America/New_York');
    }
    timezone = raw.timezone.trim();
  }

  let maxAttempts: number | null = null;
  if (raw.maxAttempts !== undefined && raw.maxAttempts !== null && raw.maxAttempts !== '') {
    // A CSV cell is text: "3" is read as 3.
    const n = typeof raw.maxAttempts === 'string' ? Number(raw.maxAttempts) : raw.maxAttempts;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > MAX_RETRY_ATTEMPTS) {
      return reject(
        'maxAttempts',
        `maxAttempts must be a whole number from 1 to ${MAX_RETRY_ATTEMPTS}`,
      );
    }
    maxAttempts = n;
  }

  const variables: Record<string, string> = {};
  if (raw.variables !== undefined && raw.variables !== null) {
    if (typeof raw.variables !== 'object' || Array.isArray(raw.variables)) {
      return reject('variables', 'variables must be an object of strings');
    }
    const entries = Object.entries(raw.variables as Record<string, unknown>);
    if (entries.length > MAX_VARIABLES) {
      return reject('variables', `at most ${MAX_VARIABLES} variables per contact`);
    }
    for (const [key, value] of entries) {
      if (key.length === 0 || key.length > MAX_VARIABLE_NAME) {
        return reject('variables', `variable names are 1 to ${MAX_VARIABLE_NAME} characters`);
      }
      if (typeof value !== 'string')
        return reject(`variables.${key}`, `variables.${key} must be a string`);
      if (value.length > MAX_VARIABLE_VALUE) {
        return reject(
          `variables.${key}`,
          `variables.${key} is longer than ${MAX_VARIABLE_VALUE} characters`,
        );
      }
      // An empty CSV cell says nothing: it does not blank a value an earlier row gave.
      if (value !== '') variables[key] = value;
    }
  }
  return {
    ok: true,
    contact: {
      phone: phone.e164,
      name,
      timezone,
      derivedTimezone: timezone === null ? timeZoneOf(phone.e164) : null,
      maxAttempts,
      variables,
    },
  };
}

/**
 * Rows waiting to be written, one per phone: a row whose phone is already in the batch is merged
 * into it (the later name, if any, and variables win), since one `INSERT … ON CONFLICT` may not
 * touch the same row twice.
 */
export class ContactBatch {
  readonly #rows = new Map<string, ContactRow>();

  get size(): number {
    return this.#rows.size;
  }

  /** Adds a row; true when it was merged into one already in the batch. */
  add(contact: ContactRow): boolean {
    const earlier = this.#rows.get(contact.phone);
    if (earlier === undefined) {
      this.#rows.set(contact.phone, contact);
      return false;
    }
    this.#rows.set(contact.phone, {
      phone: contact.phone,
      name: contact.name ?? earlier.name,
      timezone: contact.timezone ?? earlier.timezone,
      derivedTimezone: contact.derivedTimezone ?? earlier.derivedTimezone,
      maxAttempts: contact.maxAttempts ?? earlier.maxAttempts,
      variables: { ...earlier.variables, ...contact.variables },
    });
    return true;
  }

  /** The rows, and an empty batch for the next ones. */
  take(): ContactRow[] {
    const rows = [...this.#rows.values()];
    this.#rows.clear();
    return rows;
  }
}
