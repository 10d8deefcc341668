import type {
  ColumnShape,
  ForeignKeyShape,
  IndexShape,
  SchemaDifference,
  SchemaShape,
  TableShape,
} from './shape.js';

/**
 * Every difference between the shape the data model expects and the shape the database has.
 * Empty means no drift. Enum label order and column defaults are not compared.
 */
export function compareShapes(expected: SchemaShape, actual: SchemaShape): SchemaDifference[] {
  const differences: SchemaDifference[] = [];
  const add = (kind: SchemaDifference['kind'], object: string, message: string): void => {
    differences.push({ kind, object, message });
  };

  for (const [name, table] of expected.tables) {
    const found = actual.tables.get(name);
    if (found === undefined) add('table', name, 'missing in the database');
    else compareTables(name, table, found, add);
  }
  for (const name of actual.tables.keys()) {
    if (!expected.tables.has(name)) add('table', name, 'in the database but not in the schema');
  }

  for (const [name, labels] of expected.enums) {
    const found = actual.enums.get(name);
    if (found === undefined) {
      add('enum', name, `missing in the database (schema: ${labels.join(', ')})`);
      continue;
    }
    const missing = labels.filter((label) => !found.includes(label));
    const extra = found.filter((label) => !labels.includes(label));
    if (missing.length > 0)
      add('enum', name, `values missing in the database: ${missing.join(', ')}`);
    if (extra.length > 0)
      add('enum', name, `values in the database but not in the schema: ${extra.join(', ')}`);
  }
  for (const name of actual.enums.keys()) {
    if (!expected.enums.has(name)) add('enum', name, 'in the database but not in the schema');
  }
  return differences;
}

type Add = (kind: SchemaDifference['kind'], object: string, message: string) => void;

function compareTables(table: string, expected: TableShape, actual: TableShape, add: Add): void {
  for (const [name, column] of expected.columns) {
    const found = actual.columns.get(name);
    const object = `${table}.${name}`;
    if (found === undefined) {
      add('column', object, `missing in the database (schema: ${describeColumn(column)})`);
      continue;
    }
    if (column.type !== '*' && column.type !== found.type) {
      add('column', object, `type is ${found.type} in the database, ${column.type} in the schema`);
    }
    if (column.nullable !== found.nullable) {
      add(
        'column',
        object,
        `${nullability(found)} in the database, ${nullability(column)} in the schema`,
      );
    }
  }
  for (const [name, column] of actual.columns) {
    if (!expected.columns.has(name)) {
      add(
        'column',
        `${table}.${name}`,
        `in the database (${describeColumn(column)}) but not in the schema`,
      );
    }
  }

  const pk = expected.primaryKey;
  const foundPk = actual.primaryKey;
  if (pk !== null && foundPk === null) {
    add(
      'primary-key',
      table,
      `missing in the database (schema: ${pk.name} (${pk.columns.join(', ')}))`,
    );
  } else if (pk === null && foundPk !== null) {
    add('primary-key', table, `in the database (${foundPk.name}) but not in the schema`);
  } else if (pk !== null && foundPk !== null) {
    if (pk.columns.join() !== foundPk.columns.join()) {
      add(
        'primary-key',
        table,
        `on (${foundPk.columns.join(', ')}) in the database, (${pk.columns.join(', ')}) in the schema`,
      );
    } else if (pk.name !== foundPk.name) {
      add('primary-key', table, `named ${foundPk.name} in the database, ${pk.name} in the schema`);
    }
  }

  compareIndexes(table, expected.indexes, actual.indexes, add);
  compareForeignKeys(table, expected.foreignKeys, actual.foreignKeys, add);
}

function compareIndexes(
  table: string,
  expected: IndexShape[],
  actual: IndexShape[],
  add: Add,
): void {
  const unmatched = [...actual];
  for (const index of expected) {
    const at = unmatched.findIndex((found) => indexKey(found) === indexKey(index));
    if (at === -1) {
      add('index', index.name, `missing in the database (schema: ${describeIndex(table, index)})`);
      continue;
    }
    const [found] = unmatched.splice(at, 1);
    if (found !== undefined && found.name !== index.name) {
      add(
        'index',
        index.name,
        `named ${found.name} in the database (${describeIndex(table, index)})`,
      );
    }
  }
  for (const found of unmatched) {
    add(
      'index',
      found.name,
      `in the database (${describeIndex(table, found)}) but not in the schema`,
    );
  }
}

function compareForeignKeys(
  table: string,
  expected: ForeignKeyShape[],
  actual: ForeignKeyShape[],
  add: Add,
): void {
  const unmatched = [...actual];
  for (const fk of expected) {
    const at = unmatched.findIndex((found) => foreignKeyTarget(found) === foreignKeyTarget(fk));
    const object = `${table}(${fk.columns.join(', ')})`;
    if (at === -1) {
      add('foreign-key', object, `missing in the database (schema: ${describeForeignKey(fk)})`);
      continue;
    }
    const [found] = unmatched.splice(at, 1);
    if (found === undefined) continue;
    if (found.onDelete !== fk.onDelete || found.onUpdate !== fk.onUpdate) {
      add(
        'foreign-key',
        object,
        `ON DELETE ${found.onDelete} ON UPDATE ${found.onUpdate} in the database, ON DELETE ${fk.onDelete} ON UPDATE ${fk.onUpdate} in the schema`,
      );
    }
  }
  for (const found of unmatched) {
    add(
      'foreign-key',
      `${table}(${found.columns.join(', ')})`,
      `in the database (${found.name ?? ''} ${describeForeignKey(found)}) but not in the schema`,
    );
  }
}

function indexKey(index: IndexShape): string {
  return `${index.unique ? 'unique' : 'index'} ${index.method} (${index.columns.join(', ')})`;
}

function foreignKeyTarget(fk: ForeignKeyShape): string {
  return `(${fk.columns.join(', ')}) -> ${fk.referencedTable}(${fk.referencedColumns.join(', ')})`;
}

function describeColumn(column: ColumnShape): string {
  return `${column.type} ${nullability(column)}`;
}

function nullability(column: ColumnShape): string {
  return column.nullable ? 'NULL' : 'NOT NULL';
}

function describeIndex(table: string, index: IndexShape): string {
  const method = index.method === 'btree' ? '' : ` USING ${index.method}`;
  return `${index.unique ? 'UNIQUE ' : ''}INDEX ON ${table}${method} (${index.columns.join(', ')})`;
}

function describeForeignKey(fk: ForeignKeyShape): string {
  return `${foreignKeyTarget(fk)} ON DELETE ${fk.onDelete} ON UPDATE ${fk.onUpdate}`;
}
