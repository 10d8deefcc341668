import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

import pg from 'pg';

import { compareShapes } from './drift/compare.js';
import { shapeFromDatabase } from './drift/from-database.js';
import { readDatamodel, shapeFromDatamodel } from './drift/from-model.js';
import type { SchemaDifference } from './drift/shape.js';

/**
 * Schema drift check: does the migrated database match `prisma/schema.prisma`? The data model is
 * read offline with Prisma's own parser (`getDMMF` from `@prisma/internals`), the database from
 * `pg_catalog`, and the two are compared table by table: columns (type, nullability), primary
 * keys, unique and plain indexes (columns, order, method, name), foreign keys (target and
 * actions) and enums (labels). Column defaults and enum label order are not compared.
 *
 * {@link prismaMigrationDiff} is the second, stricter check: Prisma's own schema engine replays
 * the migrations on a scratch database and prints the SQL still missing (defaults included).
 *
 * This module loads `@prisma/internals` (a dev dependency): import it from `@app/db/drift` in
 * tests and CI only, never from a service.
 */

export type { SchemaDifference } from './drift/shape.js';
export { prismaMigrationDiff, type PrismaMigrationDiffOptions } from './drift/prisma-engine.js';

export interface FindSchemaDriftOptions {
  /** `postgresql://` URL of the migrated database. */
  databaseUrl: string;
  /**
   * Prisma schema file to compare with (ignored when `datamodel` is given).
   * @defaultValue {@link defaultSchemaPath}()
   */
  schemaPath?: string;
  /** Prisma schema text, instead of reading `schemaPath`. */
  datamodel?: string;
  /**
   * Database schema (namespace) holding the tables.
   * @defaultValue the URL's `?schema=`, else `public`
   */
  schema?: string;
}

/** The repository's `prisma/schema.prisma`, seen from `src/` or `dist/` of this package. */
export function defaultSchemaPath(): string {
  const candidates = [
    fileURLToPath(new URL('../../../prisma/schema.prisma', import.meta.url)),
    fileURLToPath(new URL('../prisma/schema.prisma', import.meta.url)),
  ];
  const found = candidates.find((path) => existsSync(path));
  if (found === undefined) {
    throw new Error(`no schema.prisma found (looked in ${candidates.join(', ')}): pass schemaPath`);
  }
  return found;
}

/**
 * Compares the database with the data model.
 *
 * @returns every difference, empty when there is no drift.
 */
export async function findSchemaDrift(
  options: FindSchemaDriftOptions,
): Promise<SchemaDifference[]> {
  const text =
    options.datamodel ?? (await readFile(options.schemaPath ?? defaultSchemaPath(), 'utf8'));
  const expected = shapeFromDatamodel(await readDatamodel(text));
  const schema =
    options.schema ?? new URL(options.databaseUrl).searchParams.get('schema') ?? 'public';

  const client = new pg.Client({ connectionString: options.databaseUrl });
  client.on('error', () => {});
  await client.connect();
  try {
    return compareShapes(expected, await shapeFromDatabase(client, schema));
  } finally {
    await client.end();
  }
}

/** One line per difference: `column calls.ended_at: missing in the database (…)`. */
export function formatSchemaDrift(differences: SchemaDifference[]): string {
  return differences.map((d) => `${d.kind} ${d.object}: ${d.message}`).join('\n');
}
