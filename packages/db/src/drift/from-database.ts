import type pg from 'pg';

import type {
  ColumnShape,
  ForeignKeyShape,
  IndexShape,
  ReferentialAction,
  SchemaShape,
  TableShape,
} from './shape.js';

/** Tables that belong to the tooling, not the data model. */
const IGNORED_TABLES = new Set(['_prisma_migrations']);

/** `pg_constraint.confdeltype`/`confupdtype` codes. */
const ACTIONS: Record<string, ReferentialAction> = {
  a: 'NO ACTION',
  r: 'RESTRICT',
  c: 'CASCADE',
  n: 'SET NULL',
  d: 'SET DEFAULT',
};

interface ColumnRow {
  table: string;
  attnum: number;
  column: string;
  type: string;
  not_null: boolean;
}

interface IndexRow {
  table: string;
  name: string;
  unique: boolean;
  primary: boolean;
  method: string;
  keys: string;
  options: string;
  partial: boolean;
}

interface ForeignKeyRow {
  name: string;
  table: string;
  referenced_table: string;
  keys: string;
  referenced_keys: string;
  on_delete: string;
  on_update: string;
}

/** Reads tables, columns, indexes, foreign keys and enums of one schema from `pg_catalog`. */
export async function shapeFromDatabase(
  client: pg.ClientBase,
  schema: string,
): Promise<SchemaShape> {
  const tables = new Map<string, TableShape>();
  const tableRows = await client.query<{ table: string }>(
    `SELECT c.relname AS "table"
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')
      ORDER BY c.relname`,
    [schema],
  );
  for (const { table } of tableRows.rows) {
    if (IGNORED_TABLES.has(table)) continue;
    tables.set(table, { columns: new Map(), primaryKey: null, indexes: [], foreignKeys: [] });
  }

  // attnum -> column name per table, to resolve index and constraint keys.
  const attnames = new Map<string, Map<number, string>>();
  const columnRows = await client.query<ColumnRow>(
    `SELECT c.relname AS "table", a.attnum, a.attname AS "column",
            format_type(a.atttypid, a.atttypmod) AS "type", a.attnotnull AS not_null
       FROM pg_class c
       JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')
      ORDER BY c.relname, a.attnum`,
    [schema],
  );
  for (const row of columnRows.rows) {
    const names = attnames.get(row.table) ?? new Map<number, string>();
    names.set(row.attnum, row.column);
    attnames.set(row.table, names);
    const column: ColumnShape = { type: normalizeType(row.type, schema), nullable: !row.not_null };
    tables.get(row.table)?.columns.set(row.column, column);
  }
  const columnName = (table: string, attnum: number): string =>
    attnum === 0 ? '(expression)' : (attnames.get(table)?.get(attnum) ?? `#${attnum}`);

  const indexRows = await client.query<IndexRow>(
    `SELECT t.relname AS "table", i.relname AS name, x.indisunique AS "unique",
            x.indisprimary AS "primary", am.amname AS method,
            x.indkey::text AS keys, x.indoption::text AS options, x.indpred IS NOT NULL AS partial
       FROM pg_index x
       JOIN pg_class t ON t.oid = x.indrelid
       JOIN pg_class i ON i.oid = x.indexrelid
       JOIN pg_am am ON am.oid = i.relam
       JOIN pg_namespace n ON n.oid = t.relnamespace
      WHERE n.nspname = $1
      ORDER BY t.relname, i.relname`,
    [schema],
  );
  for (const row of indexRows.rows) {
    const table = tables.get(row.table);
    if (table === undefined) continue;
    const options = splitVector(row.options);
    const columns = splitVector(row.keys).map((attnum, i) => {
      // indoption bit 0 = DESC (pg_index docs).
      const desc = ((options[i] ?? 0) & 1) === 1;
      const name = columnName(row.table, attnum);
      return desc ? `${name} DESC` : name;
    });
    if (row.primary) {
      table.primaryKey = { name: row.name, columns };
      continue;
    }
    const index: IndexShape = {
      name: row.partial ? `${row.name} (partial)` : row.name,
      columns,
      unique: row.unique,
      method: row.method,
    };
    table.indexes.push(index);
  }

  const fkRows = await client.query<ForeignKeyRow>(
    `SELECT con.conname AS name, t.relname AS "table", rt.relname AS referenced_table,
            array_to_string(con.conkey, ' ') AS keys, array_to_string(con.confkey, ' ') AS referenced_keys,
            con.confdeltype AS on_delete, con.confupdtype AS on_update
       FROM pg_constraint con
       JOIN pg_class t ON t.oid = con.conrelid
       JOIN pg_class rt ON rt.oid = con.confrelid
       JOIN pg_namespace n ON n.oid = t.relnamespace
      WHERE con.contype = 'f' AND n.nspname = $1
      ORDER BY t.relname, con.conname`,
    [schema],
  );
  for (const row of fkRows.rows) {
    const foreignKey: ForeignKeyShape = {
      name: row.name,
      columns: splitVector(row.keys).map((k) => columnName(row.table, k)),
      referencedTable: row.referenced_table,
      referencedColumns: splitVector(row.referenced_keys).map((k) =>
        columnName(row.referenced_table, k),
      ),
      onDelete: ACTIONS[row.on_delete] ?? 'NO ACTION',
      onUpdate: ACTIONS[row.on_update] ?? 'NO ACTION',
    };
    tables.get(row.table)?.foreignKeys.push(foreignKey);
  }

  const enumRows = await client.query<{ name: string; label: string }>(
    `SELECT t.typname AS name, e.enumlabel AS label
       FROM pg_type t
       JOIN pg_enum e ON e.enumtypid = t.oid
       JOIN pg_namespace n ON n.oid = t.typnamespace
      WHERE n.nspname = $1
      ORDER BY t.typname, e.enumsortorder`,
    [schema],
  );
  const enums = new Map<string, string[]>();
  for (const row of enumRows.rows) {
    enums.set(row.name, [...(enums.get(row.name) ?? []), row.label]);
  }
  return { tables, enums };
}

/** `int2vector`/array text (`1 2 3`) -> numbers. */
function splitVector(text: string): number[] {
  return text
    .trim()
    .split(/\s+/)
    .filter((part) => part.length > 0)
    .map(Number);
}

/** Drops the quotes and schema prefix `format_type()` puts on user-defined type names. */
function normalizeType(type: string, schema: string): string {
  return type.replaceAll('"', '').replace(new RegExp(`^${escapeRegExp(schema)}\\.`), '');
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
