/**
 * The comparable shape of a database schema, built once from the Prisma data model and once from
 * the PostgreSQL catalog, then diffed. Names are database names (after `@map`/`@@map`); types are
 * spelled as PostgreSQL's `format_type()` prints them.
 */

export interface SchemaShape {
  /** Table name -> table. */
  tables: Map<string, TableShape>;
  /** Enum type name -> its labels. */
  enums: Map<string, string[]>;
}

export interface TableShape {
  /** Column name -> column, in declaration order. */
  columns: Map<string, ColumnShape>;
  /** Null when the table has no primary key. */
  primaryKey: { name: string; columns: string[] } | null;
  /** Unique and plain indexes, without the primary key's. */
  indexes: IndexShape[];
  foreignKeys: ForeignKeyShape[];
}

export interface ColumnShape {
  /** `format_type()` spelling (`text`, `uuid`, `timestamp(3) with time zone`, `text[]`, an enum name); `*` = not compared. */
  type: string;
  nullable: boolean;
}

export interface IndexShape {
  name: string;
  /** Column names in key order; a descending key is `"<column> DESC"`. */
  columns: string[];
  unique: boolean;
  /** Access method: `btree`, `hash`, `gin`, `gist`, `brin`, `spgist`. */
  method: string;
}

export type ReferentialAction = 'CASCADE' | 'RESTRICT' | 'NO ACTION' | 'SET NULL' | 'SET DEFAULT';

export interface ForeignKeyShape {
  /** Constraint name; null when the data model cannot know it (a `map:` is not in the DMMF). */
  name: string | null;
  columns: string[];
  referencedTable: string;
  referencedColumns: string[];
  onDelete: ReferentialAction;
  onUpdate: ReferentialAction;
}

/** One way the database differs from the data model. */
export interface SchemaDifference {
  kind: 'table' | 'column' | 'enum' | 'primary-key' | 'index' | 'foreign-key';
  /** What differs: `calls`, `calls.ended_at`, `call_status`, `calls_created_at_idx`. */
  object: string;
  /** Human-readable, naming both sides: `missing in the database (schema: text NOT NULL)`. */
  message: string;
}

/** Longest identifier PostgreSQL keeps (NAMEDATALEN - 1). */
const MAX_IDENTIFIER_LENGTH = 63;

/**
 * Prisma's default constraint/index name: `<table>_<columns joined by _>_<suffix>`, the prefix cut
 * so the whole name fits PostgreSQL's 63 characters (psl `ConstraintNames`).
 */
export function defaultConstraintName(
  table: string,
  columns: string[],
  suffix: 'pkey' | 'key' | 'idx' | 'fkey',
): string {
  const prefix = suffix === 'pkey' ? table : `${table}_${columns.join('_')}`;
  const tail = `_${suffix}`;
  return prefix.slice(0, MAX_IDENTIFIER_LENGTH - tail.length) + tail;
}
