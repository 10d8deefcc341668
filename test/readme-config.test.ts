import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { ROOT_DIR } from './services/service-process.js';

/** One row of the README "Configuration" table. */
interface Row {
  variable: string;
  /** `all`, service names, or a tool such as `pnpm dev`. */
  services: string[];
  default: string;
  meaning: string;
}

/** The rows of the table under `## Configuration` in the root README. */
function readmeConfigRows(): Row[] {
  const readme = readFileSync(join(ROOT_DIR, 'README.md'), 'utf8');
  const section = /^## Configuration\n([\s\S]*?)(?=^## )/m.exec(readme)?.[1] ?? '';
  return section
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .map((line) => {
      const [variable = '', services = '', def = '', meaning = ''] = line
        .slice(1, -1)
        .split(' | ')
        .map((cell) => cell.trim());
      return {
        variable: variable.replace(/`/g, ''),
        services: services.split(',').map((s) => s.trim()),
        default: def,
        meaning,
      };
    });
}

/** Enough of a zod 4 schema to list an object schema's keys and parse one key alone. */
interface SchemaLike {
  shape?: Record<string, { safeParse(v: unknown): { success: boolean; data?: unknown } }>;
  def?: { in?: SchemaLike };
}

/**
 * The object schema behind a service's `configSchema`. In zod 4 `.superRefine` keeps the
 * `ZodObject` (refinements are checks on it, `.shape` stays); a `.transform` wraps it in a pipe
 * whose `in` is the object, so the keys are read there.
 */
function objectShape(schema: SchemaLike): NonNullable<SchemaLike['shape']> {
  if (schema.shape) return schema.shape;
  if (schema.def?.in) return objectShape(schema.def.in);
  throw new TypeError('configSchema is neither a zod object nor a pipe from one');
}

const SERVICES = readdirSync(join(ROOT_DIR, 'services')).filter((name) =>
  existsSync(join(ROOT_DIR, 'services', name, 'src', 'config.ts')),
);

/** Per service, each variable its `configSchema` reads and its default when unset. */
type ServiceVars = Map<string, { required: boolean; default: unknown }>;

describe('README - configuration table', () => {
  const rows = readmeConfigRows();
  const byVariable = new Map(rows.map((row) => [row.variable, row]));
  const vars = new Map<string, ServiceVars>();

  beforeAll(async () => {
    for (const name of SERVICES) {
      // The service's public entry point, as a deployment tool would read it.
      const { configSchema } = (await import(`../services/${name}/src/index.ts`)) as {
        configSchema: SchemaLike;
      };
      const shape = objectShape(configSchema);
      const service: ServiceVars = new Map();
      for (const [key, field] of Object.entries(shape)) {
        // Parsing `undefined` alone gives the default (or fails when the variable is required),
        // without the cross-field rules of the whole schema.
        const unset = field.safeParse(undefined);
        service.set(key, { required: !unset.success, default: unset.data });
      }
      vars.set(name, service);
    }
  }, 30_000);

  it('finds the table and every service config', () => {
    expect(rows.length).toBeGreaterThan(10);
    expect(SERVICES).toEqual(expect.arrayContaining(['gateway', 'call-bridge']));
    expect(new Set(rows.map((r) => r.variable)).size).toBe(rows.length);
    for (const name of SERVICES) expect(vars.get(name)?.size, name).toBeGreaterThan(5);
  });

  it.each(SERVICES)('%s - every variable of its configSchema has a row naming it', (name) => {
    const missing: string[] = [];
    for (const variable of vars.get(name)?.keys() ?? []) {
      const row = byVariable.get(variable);
      if (!row || !(row.services.includes('all') || row.services.includes(name))) {
        missing.push(variable);
      }
    }
    expect(missing, `add these to the README "Configuration" table for ${name}`).toEqual([]);
  });

  it.each(SERVICES)('%s - the table gives its numeric defaults and required variables', (name) => {
    for (const [variable, { required, default: value }] of vars.get(name) ?? []) {
      const row = byVariable.get(variable);
      if (!row) continue; // reported by the test above
      if (required) expect(row.default, variable).toMatch(/required/);
      // Numbers are the defaults that drift; strings are described (`host name`, `empty`).
      if (typeof value === 'number') expect(row.default, variable).toContain(`\`${value}\``);
    }
  });

  it('claims no service reads a variable it does not', () => {
    for (const row of rows) {
      const named = row.services.includes('all') ? SERVICES : row.services;
      for (const service of named.filter((s) => !s.startsWith('`'))) {
        expect(SERVICES, `${row.variable}: unknown service "${service}"`).toContain(service);
        expect([...(vars.get(service)?.keys() ?? [])], `${row.variable} in ${service}`).toContain(
          row.variable,
        );
      }
      expect(row.default, row.variable).not.toBe('');
      expect(row.meaning, row.variable).not.toBe('');
    }
  });

  it('lists every DEV_* variable the `pnpm dev` runner reads', () => {
    const runner = readFileSync(join(ROOT_DIR, 'scripts', 'dev.ts'), 'utf8');
    const read = [...runner.matchAll(/env\.(DEV_[A-Z0-9_]+)/g)].map((m) => m[1] ?? '');
    expect(read.length).toBeGreaterThan(0);
    for (const variable of new Set(read)) {
      expect(byVariable.get(variable)?.services, variable).toEqual(['`pnpm dev`']);
    }
  });
});
