/**
 * Checks a tool's arguments against its JSON Schema (ajv) before its handler runs. Schemas are
 * compiled once per distinct schema text: HTTP tools are re-read from the database, their schema
 * rarely changes. A schema ajv cannot compile is the tool's fault, reported as such.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

// ajv-formats is CommonJS; under NodeNext its default import is the module, `.default` the plugin.
const addFormats = addFormatsModule.default;

export type ArgsCheck =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: string; readonly schemaError?: true };

/** Most compiled schemas kept; a few hundred tools at most in practice. */
const MAX_CACHED = 500;

function describe(errors: readonly ErrorObject[]): string {
  return errors
    .slice(0, 5)
    .map((e) => {
      const at =
        e.instancePath === '' ? 'arguments' : `arguments${e.instancePath.replace(/\//g, '.')}`;
      const extra =
        e.keyword === 'additionalProperties'
          ? ` (${String((e.params as { additionalProperty?: string }).additionalProperty)})`
          : e.keyword === 'enum'
            ? ` (${JSON.stringify((e.params as { allowedValues?: unknown }).allowedValues)})`
            : '';
      return `${at} ${e.message ?? 'is invalid'}${extra}`;
    })
    .join('; ');
}

export class ArgumentValidator {
  private readonly ajv: Ajv;
  private readonly compiled = new Map<string, ValidateFunction | Error>();

  constructor() {
    // strict: false: tool authors write descriptions and other annotations ajv does not know.
    this.ajv = new Ajv({ allErrors: true, strict: false });
    addFormats(this.ajv);
  }

  check(schema: object, args: unknown): ArgsCheck {
    const validate = this.compile(schema);
    if (validate instanceof Error) {
      return {
        ok: false,
        reason: `the tool's schema is invalid: ${validate.message}`,
        schemaError: true,
      };
    }
    if (validate(args)) return { ok: true };
    return { ok: false, reason: describe(validate.errors ?? []) };
  }

  private compile(schema: object): ValidateFunction | Error {
    const key = JSON.stringify(schema);
    let entry = this.compiled.get(key);
    if (entry === undefined) {
      try {
        entry = this.ajv.compile(schema);
      } catch (err) {
        entry = err instanceof Error ? err : new Error(String(err));
      }
      if (this.compiled.size >= MAX_CACHED) this.compiled.clear();
      this.compiled.set(key, entry);
    }
    return entry;
  }
}
