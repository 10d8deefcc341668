import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

import { PrismaPg } from '@prisma/adapter-pg';
import {
  bindMigrationAwareSqlAdapterFactory,
  type SqlDriverAdapter,
  type SqlMigrationAwareDriverAdapterFactory,
} from '@prisma/driver-adapter-utils';
import type { SchemaEngine } from '@prisma/schema-engine-wasm';
import pg from 'pg';

/**
 * Prisma's own schema engine, run offline: its Wasm build (`@prisma/schema-engine-wasm`, the one
 * the Prisma CLI bundles) driven through `@prisma/adapter-pg`, since the native engine cannot be
 * downloaded here. Used to write new migrations exactly as `prisma migrate diff` does, and as a
 * second drift check.
 */

let engineClass: Promise<typeof SchemaEngine> | undefined;

/** The slice of the `WebAssembly` global used here (the repo's `lib` has no DOM typings). */
interface WasmGlobal {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (
    module: object,
    imports: Record<string, unknown>,
  ) => { exports: Record<string, unknown> };
}

/**
 * Instantiates the Wasm module once per process, as `@prisma/internals`' loader does (its own
 * loader expects the CLI's bundled `build/` folder, so it cannot be used from here).
 */
function loadSchemaEngine(): Promise<typeof SchemaEngine> {
  engineClass ??= (async () => {
    const wasm = (globalThis as unknown as { WebAssembly: WasmGlobal }).WebAssembly;
    const require = createRequire(import.meta.url);
    const glue = require.resolve('@prisma/schema-engine-wasm/schema_engine_bg');
    const runtime = await import('@prisma/schema-engine-wasm/schema_engine_bg');
    const bytes = await readFile(join(dirname(glue), 'schema_engine_bg.wasm'));
    const instance = new wasm.Instance(new wasm.Module(bytes), {
      './schema_engine_bg.js': runtime,
    });
    runtime.__wbg_set_wasm(instance.exports);
    (instance.exports.__wbindgen_start as () => void)();
    return runtime.SchemaEngine;
  })();
  return engineClass;
}

export interface PrismaMigrationDiffOptions {
  /** Server to create the two scratch databases on (admin URL, needs CREATEDB). */
  adminUrl: string;
  /** Migrations folder to replay. */
  migrationsDir: string;
  /** Prisma schema file, or its text in `datamodel`. */
  schemaPath?: string;
  datamodel?: string;
}

/**
 * The SQL that takes a database migrated with `migrationsDir` to the data model: what
 * `prisma migrate diff --from-migrations <dir> --to-schema <schema> --script` prints. The
 * engine replays the migrations on a scratch shadow database, so every folder must apply.
 *
 * @returns the script; `''` when the migrations already produce the data model.
 */
export async function prismaMigrationDiff(options: PrismaMigrationDiffOptions): Promise<string> {
  const schemaPath = options.schemaPath ?? 'schema.prisma';
  const content = options.datamodel ?? (await readFile(schemaPath, 'utf8'));
  const from = await migrationList(options.migrationsDir);
  const scratch = new ScratchDatabases(options.adminUrl);
  try {
    const main = await scratch.create();
    const Engine = await loadSchemaEngine();
    const engine = await Engine.new(
      { datamodels: [[schemaPath, content]] },
      () => {},
      bindMigrationAwareSqlAdapterFactory(scratch.factory(main)),
    );
    try {
      const result = await engine.diff({
        from: { tag: 'migrations', ...from },
        to: { tag: 'schemaDatamodel', files: [{ path: schemaPath, content }] },
        script: true,
        exitCode: true,
        filters: { externalTables: [], externalEnums: [] },
      });
      // Exit code 2 = non-empty diff (`--exit-code`); 0 = the schemas match.
      return result.exitCode === 0 ? '' : (result.stdout ?? '');
    } finally {
      engine.free();
    }
  } finally {
    await scratch.dropAll();
  }
}

async function migrationList(migrationsDir: string) {
  const entries = await readdir(migrationsDir, { withFileTypes: true });
  const names = entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  const lockPath = join(migrationsDir, 'migration_lock.toml');
  return {
    baseDir: migrationsDir,
    lockfile: {
      path: 'migration_lock.toml',
      content: existsSync(lockPath) ? await readFile(lockPath, 'utf8') : null,
    },
    shadowDbInitScript: '',
    migrationDirectories: await Promise.all(
      names.map(async (name) => ({
        path: name,
        migrationFile: {
          path: 'migration.sql',
          content: {
            tag: 'ok' as const,
            value: await readFile(join(migrationsDir, name, 'migration.sql'), 'utf8'),
          },
        },
      })),
    ),
  };
}

/**
 * Scratch databases for the engine: its "main" connection and its shadow database. Both are
 * created and dropped here, so nothing the engine does reaches a real database.
 */
class ScratchDatabases {
  private readonly names: string[] = [];

  constructor(private readonly adminUrl: string) {}

  async create(): Promise<pg.PoolConfig> {
    const name = `prisma_scratch_${randomBytes(6).toString('hex')}`;
    await this.admin(`CREATE DATABASE "${name}"`);
    this.names.push(name);
    const url = new URL(this.adminUrl);
    // Discrete fields, not a connectionString: the database name must be the scratch one.
    return {
      host: url.hostname,
      port: Number(url.port || 5432),
      user: decodeURIComponent(url.username),
      password: decodeURIComponent(url.password),
      database: name,
      max: 1,
    };
  }

  factory(main: pg.PoolConfig): SqlMigrationAwareDriverAdapterFactory {
    const inner = new PrismaPg(main);
    return {
      provider: inner.provider,
      adapterName: inner.adapterName,
      connect: async () => wholeScripts(await inner.connect()),
      connectToShadowDb: async () =>
        wholeScripts(await new PrismaPg(await this.create()).connect()),
    };
  }

  async dropAll(): Promise<void> {
    for (const name of this.names.splice(0)) {
      await this.admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    }
  }

  private async admin(sql: string): Promise<void> {
    const client = new pg.Client({ connectionString: this.adminUrl });
    client.on('error', () => {});
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  }
}

/** OIDs of PostgreSQL's `"char"` and `text` types. */
const CHAR_OID = 18;
const TEXT_OID = 25;

/**
 * Two gaps of adapter-pg 7.10 when it drives the schema engine, closed for the scratch pools
 * only: its `executeScript` splits a script on every `;` (breaking PL/pgSQL bodies and comments;
 * the native engine sends a migration as one simple query, and so does this), and it rejects the
 * catalog's `"char"` columns (`relkind`, `confdeltype`) that the engine reads when it describes a
 * schema, which are plain one-letter strings, so they are reported as text.
 */
function wholeScripts<T extends SqlDriverAdapter & { underlyingDriver(): pg.Pool }>(adapter: T): T {
  const pool = adapter.underlyingDriver();
  const convert = (adapter as unknown as { onError(error: unknown): never }).onError.bind(adapter);
  adapter.executeScript = async (script: string) => {
    try {
      await pool.query(script);
    } catch (error) {
      convert(error);
    }
  };
  const query = pool.query.bind(pool) as (...args: unknown[]) => Promise<pg.QueryResult>;
  (pool as { query: unknown }).query = async (...args: unknown[]) => {
    const result = await query(...args);
    for (const field of result.fields ?? []) {
      if (field.dataTypeID === CHAR_OID) field.dataTypeID = TEXT_OID;
    }
    return result;
  };
  return adapter;
}
