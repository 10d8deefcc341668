import internals from '@prisma/internals';

import {
  defaultConstraintName,
  type ColumnShape,
  type ForeignKeyShape,
  type IndexShape,
  type ReferentialAction,
  type SchemaShape,
  type TableShape,
} from './shape.js';

type Datamodel = Awaited<ReturnType<typeof internals.getDMMF>>['datamodel'];
type Model = Datamodel['models'][number];
type Field = Model['fields'][number];

/** Column type of each Prisma scalar without `@db.*`, as `format_type()` prints it (Prisma's PostgreSQL defaults). */
const SCALAR_TYPES: Record<string, string> = {
  String: 'text',
  Boolean: 'boolean',
  Int: 'integer',
  BigInt: 'bigint',
  Float: 'double precision',
  Decimal: 'numeric(65,30)',
  DateTime: 'timestamp(3) without time zone',
  Json: 'jsonb',
  Bytes: 'bytea',
};

/** `@db.<Type>` -> `format_type()` spelling; `$1`/`$2` are the attribute's arguments. */
const NATIVE_TYPES: Record<string, (args: readonly string[]) => string> = {
  Text: () => 'text',
  Uuid: () => 'uuid',
  VarChar: (a) => withArgs('character varying', a),
  Char: (a) => withArgs('character', a),
  Citext: () => 'citext',
  Xml: () => 'xml',
  Inet: () => 'inet',
  Bit: (a) => withArgs('bit', a),
  VarBit: (a) => withArgs('bit varying', a),
  Boolean: () => 'boolean',
  SmallInt: () => 'smallint',
  Integer: () => 'integer',
  BigInt: () => 'bigint',
  Oid: () => 'oid',
  Real: () => 'real',
  DoublePrecision: () => 'double precision',
  Decimal: (a) => withArgs('numeric', a),
  Money: () => 'money',
  Date: () => 'date',
  Timestamp: (a) => withArgs('timestamp', a) + ' without time zone',
  Timestamptz: (a) => withArgs('timestamp', a) + ' with time zone',
  Time: (a) => withArgs('time', a) + ' without time zone',
  Timetz: (a) => withArgs('time', a) + ' with time zone',
  Json: () => 'json',
  JsonB: () => 'jsonb',
  ByteA: () => 'bytea',
};

function withArgs(base: string, args: readonly string[]): string {
  return args.length === 0 ? base : `${base}(${args.join(',')})`;
}

/** Prisma's referential action names -> SQL. */
const ACTIONS: Record<string, ReferentialAction> = {
  Cascade: 'CASCADE',
  Restrict: 'RESTRICT',
  NoAction: 'NO ACTION',
  SetNull: 'SET NULL',
  SetDefault: 'SET DEFAULT',
};

/** Parses a Prisma schema offline (Prisma's Wasm parser, no engine, no database). */
export async function readDatamodel(schemaText: string): Promise<Datamodel> {
  return (await internals.getDMMF({ datamodel: schemaText })).datamodel;
}

/** The schema `prisma migrate diff` would create from this data model (implicit m2m tables excepted). */
export function shapeFromDatamodel(datamodel: Datamodel): SchemaShape {
  const enumDbNames = new Map(datamodel.enums.map((e) => [e.name, e.dbName ?? e.name]));
  const tableOf = new Map(datamodel.models.map((m) => [m.name, m.dbName ?? m.name]));
  const tables = new Map<string, TableShape>();

  for (const model of datamodel.models) {
    const table = tableOf.get(model.name) ?? model.name;
    const columnOf = (fieldName: string): string => {
      const field = model.fields.find((f) => f.name === fieldName);
      return field?.dbName ?? fieldName;
    };
    const columns = new Map<string, ColumnShape>();
    for (const field of model.fields) {
      if (field.kind === 'object') continue;
      columns.set(field.dbName ?? field.name, columnShape(field, enumDbNames));
    }

    let primaryKey: TableShape['primaryKey'] = null;
    const indexes: IndexShape[] = [];
    for (const index of datamodel.indexes.filter((i) => i.model === model.name)) {
      const keyColumns = index.fields.map((f) => columnOf(f.name));
      if (index.type === 'id') {
        primaryKey = {
          name: index.dbName ?? defaultConstraintName(table, keyColumns, 'pkey'),
          columns: keyColumns,
        };
        continue;
      }
      if (index.type !== 'unique' && index.type !== 'normal') continue;
      const unique = index.type === 'unique';
      indexes.push({
        name: index.dbName ?? defaultConstraintName(table, keyColumns, unique ? 'key' : 'idx'),
        columns: index.fields.map((f) =>
          f.sortOrder === 'desc' ? `${columnOf(f.name)} DESC` : columnOf(f.name),
        ),
        unique,
        method: (index.algorithm ?? 'btree').toLowerCase(),
      });
    }

    const foreignKeys: ForeignKeyShape[] = [];
    for (const field of model.fields) {
      const from = field.relationFromFields ?? [];
      if (field.kind !== 'object' || from.length === 0) continue;
      const target = datamodel.models.find((m) => m.name === field.type);
      const targetColumn = (name: string): string =>
        target?.fields.find((f) => f.name === name)?.dbName ?? name;
      const fromFields = from.map((name) => model.fields.find((f) => f.name === name));
      // Prisma's defaults: Restrict when every local field is required, else SetNull; Cascade on update.
      const required = fromFields.every((f) => f?.isRequired === true);
      foreignKeys.push({
        name: null,
        columns: from.map(columnOf),
        referencedTable: tableOf.get(field.type) ?? field.type,
        referencedColumns: (field.relationToFields ?? []).map(targetColumn),
        onDelete:
          ACTIONS[field.relationOnDelete ?? (required ? 'Restrict' : 'SetNull')] ?? 'NO ACTION',
        onUpdate: ACTIONS[field.relationOnUpdate ?? 'Cascade'] ?? 'NO ACTION',
      });
    }

    tables.set(table, { columns, primaryKey, indexes, foreignKeys });
  }

  const enums = new Map(
    datamodel.enums.map((e) => [e.dbName ?? e.name, e.values.map((v) => v.dbName ?? v.name)]),
  );
  return { tables, enums };
}

function columnShape(field: Field, enumDbNames: Map<string, string>): ColumnShape {
  let type: string;
  if (field.kind === 'enum') {
    type = enumDbNames.get(field.type) ?? field.type;
  } else if (field.kind === 'unsupported') {
    type = '*';
  } else if (field.nativeType) {
    const [name, args] = field.nativeType;
    type = NATIVE_TYPES[name]?.(args) ?? withArgs(name.toLowerCase(), args);
  } else {
    type = SCALAR_TYPES[field.type] ?? field.type.toLowerCase();
  }
  // Prisma creates scalar lists as nullable array columns, whatever `isRequired` says.
  return field.isList
    ? { type: type === '*' ? type : `${type}[]`, nullable: true }
    : { type, nullable: !field.isRequired };
}
