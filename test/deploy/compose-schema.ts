import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

import { Ajv, type ErrorObject } from 'ajv';
import addFormatsModule from 'ajv-formats';

/**
 * The Compose Specification's JSON Schema (compose-spec/compose-spec `schema/compose-spec.json`)
 * as the `dclint` package ships it, downloaded unmodified from the spec repository. Not
 * exported by the package, so it is read from the installed folder.
 */
export const COMPOSE_SCHEMA_FILE = join(
  dirname(createRequire(import.meta.url).resolve('dclint/package.json')),
  'schemas/compose.schema.json',
);

// ajv-formats is CommonJS (`module.exports = plugin`, `exports.default = plugin`); under
// NodeNext the default import is that module object, and `.default` the plugin.
const addFormats = addFormatsModule.default;

function compileComposeSchema() {
  const schema = JSON.parse(readFileSync(COMPOSE_SCHEMA_FILE, 'utf8')) as Record<string, unknown>;
  // The spec declares draft-07 as `https://json-schema.org/draft-07/schema`, an alias of the
  // `http://...#` id ajv registers for draft-07; the keywords are the same.
  delete schema.$schema;
  // strict: false: the spec uses annotations ajv's strict mode does not know (`deprecated`).
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats(ajv);
  return ajv.compile(schema);
}

let validate: ReturnType<typeof compileComposeSchema> | undefined;

/**
 * Validates a parsed Compose file (merge keys already resolved) against the specification.
 *
 * @returns One line per problem (`/services/x: must NOT have additional properties (y)`).
 */
export function validateCompose(doc: unknown): string[] {
  validate ??= compileComposeSchema();
  if (validate(doc)) return [];
  return (validate.errors ?? []).map(formatError);
}

function formatError(e: ErrorObject): string {
  const detail =
    e.keyword === 'additionalProperties'
      ? ` (${String((e.params as { additionalProperty: string }).additionalProperty)})`
      : '';
  return `${e.instancePath || '/'}: ${e.message ?? e.keyword}${detail}`;
}
