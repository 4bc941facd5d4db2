/**
 * The results store's tables, each written once as its list of columns (field, SQL name, type). The
 * list drives the CREATE TABLE statement, the appender and the checked reader, so adding a column is
 * one line here (and a new STORE_VERSION, since older stores lack it). Order is table order.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { InputError } from '../errors.js';
import { type ColumnType, double, integer, json, nullable, oneOf, text, topK } from './columns.js';
import { RUN_KINDS, type RunRecord, type SessionRecord, type StoredResult, type StoredWorker } from './types.js';

/** A row's fields, each mapped to its column: [SQL name, type]; every field has one. */
type Columns<Row> = { [K in keyof Row]-?: readonly [name: string, type: ColumnType<Row[K]>] };

interface Column {
  readonly field: string;
  readonly name: string;
  readonly type: ColumnType<unknown>;
}

export interface Table<Row> {
  readonly name: string;
  /** In table order. */
  readonly columns: readonly Column[];
  /** SQL names of the primary key's columns. */
  readonly primaryKey: readonly string[];
  /** Phantom: ties the table to its row type. */
  readonly row?: Row;
}

/** A table from its columns (in table order) and the fields of its primary key. */
function table<Row>(name: string, columns: Columns<Row>, primaryKey: readonly (keyof Row & string)[]): Table<Row> {
  const list = Object.entries(columns).map(([field, c]) => {
    const [colName, type] = c as readonly [string, ColumnType<unknown>];
    return { field, name: colName, type };
  });
  return { name, columns: list, primaryKey: primaryKey.map((f) => columns[f][0]) };
}

export interface MetaRow {
  key: string;
  value: string;
}
export const STORE_META = table<MetaRow>('store_meta', { key: ['key', text], value: ['value', text] }, ['key']);

export const WORKERS = table<StoredWorker>(
  'workers',
  {
    workerId: ['worker_id', text],
    ord: ['ord', integer],
    dataset: ['dataset', text],
    gender: ['gender', text],
    ethnicity: ['ethnicity', text],
    region: ['region', text],
    birthYear: ['birth_year', nullable(integer)],
    shard: ['shard', integer],
    transitions: ['transitions', integer],
  },
  ['workerId'],
);

export const RUNS = table<RunRecord>(
  'runs',
  {
    name: ['name', text],
    kind: ['kind', oneOf(RUN_KINDS)],
    config: ['config', json],
    info: ['info', json],
    createdAt: ['created_at', text],
  },
  ['name'],
);

/** A result row: the run it belongs to, then the result. */
export type ResultRow = { run: string } & StoredResult;
export const RESULTS = table<ResultRow>(
  'results',
  {
    run: ['run', text],
    workerId: ['worker_id', text],
    index: ['idx', integer],
    dataset: ['dataset', text],
    year: ['year', integer],
    from: ['from_code', nullable(text)],
    to: ['to_code', text],
    logProb: ['log_prob', nullable(double)],
    rawLogProb: ['raw_log_prob', nullable(double)],
    validMass: ['valid_mass', nullable(double)],
    rank: ['rank', nullable(integer)],
    ties: ['ties', nullable(integer)],
    topK: ['top_k', nullable(topK)],
    pSame: ['p_same', nullable(double)],
    pLaborForce: ['p_labor_force', nullable(double)],
  },
  ['run', 'workerId', 'index'],
);

export interface WorkerDoneRow {
  run: string;
  workerId: string;
  /** Results written for the worker. */
  transitions: number;
}
export const WORKER_DONE = table<WorkerDoneRow>(
  'worker_done',
  { run: ['run', text], workerId: ['worker_id', text], transitions: ['transitions', integer] },
  ['run', 'workerId'],
);

export type SessionRow = { id: number } & SessionRecord;
export const SESSIONS = table<SessionRow>(
  'sessions',
  {
    id: ['id', integer],
    run: ['run', text],
    startedAt: ['started_at', text],
    finishedAt: ['finished_at', nullable(text)],
    workersScored: ['workers_scored', integer],
    info: ['info', json],
  },
  ['id'],
);

export const TABLES: readonly Table<unknown>[] = [STORE_META, WORKERS, RUNS, RESULTS, WORKER_DONE, SESSIONS];

/**
 * CREATE TABLE for a table: a one-column key on its column, a composite key as a table constraint
 * (the form the stores of this version were created with).
 */
export function createTableSql(t: Table<unknown>): string {
  const single = t.primaryKey.length === 1 ? t.primaryKey[0] : undefined;
  const cols = t.columns.map((c) => {
    const constraint = c.name === single ? ' PRIMARY KEY' : c.type.nullable ? '' : ' NOT NULL';
    return `${c.name} ${c.type.sql}${constraint}`;
  });
  if (single === undefined) cols.push(`PRIMARY KEY (${t.primaryKey.join(', ')})`);
  return `CREATE TABLE ${t.name} (${cols.join(', ')});`;
}

/** Appends rows to a table through DuckDB's appender (inside the caller's transaction, if any). */
export async function appendRows<Row>(conn: DuckDBConnection, t: Table<Row>, rows: Iterable<Row>): Promise<void> {
  const ap = await conn.createAppender(t.name);
  for (const row of rows) {
    for (const c of t.columns) c.type.append(ap, (row as Record<string, unknown>)[c.field]);
    ap.endRow();
  }
  ap.flushSync();
  ap.closeSync();
}

/**
 * A row as read (`getRowObjectsJS()`), every column checked; a value of the wrong kind is an InputError
 * naming the store and `table.key.column`.
 */
export function readRow<Row>(t: Table<Row>, raw: Record<string, unknown>, file: string): Row {
  const row: Record<string, unknown> = {};
  for (const c of t.columns) {
    const value = c.type.read(raw[c.name]);
    if (value === undefined) {
      const field = `${t.name}.${t.primaryKey.map((k) => String(raw[k])).join('/')}.${c.name}`;
      throw damaged(file, field, c.type.expected, raw[c.name]);
    }
    row[c.field] = value;
  }
  // Every field of Row has a column (Columns<Row>), each read with its own check above.
  return row as Row;
}

/** The error for a stored value that is not what its column holds. */
export function damaged(file: string, field: string, expected: string, value: unknown): InputError {
  return new InputError(`damaged results store: ${field} is not ${expected} (${JSON.stringify(String(value).slice(0, 60))})`, { file, field });
}
