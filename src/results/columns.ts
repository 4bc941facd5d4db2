/**
 * How one field of the results store is stored: its SQL type, whether it may be NULL, how the appender
 * writes it and how a value read back is checked and converted. A value of the wrong kind is a damaged
 * store (a typed error naming the column), never a wrong number passed on.
 */
import { DOUBLE, type DuckDBAppender, LIST, listValue, STRUCT, structValue, VARCHAR } from '@duckdb/node-api';
import type { TopKEntry } from '../metrics/types.js';
import type { JsonObject } from './types.js';

export interface ColumnType<T> {
  /** The SQL type in CREATE TABLE. */
  readonly sql: string;
  readonly nullable: boolean;
  /** What the column holds, for the error on a value that is not that ("an integer"). */
  readonly expected: string;
  append(ap: DuckDBAppender, value: T): void;
  /** The value as DuckDB's `getRowObjectsJS()` gives it, checked; undefined when it is not of this type. */
  read(value: unknown): T | undefined;
}

/** A NOT NULL column of one SQL type. */
function scalar<T>(sql: string, expected: string, append: ColumnType<T>['append'], read: ColumnType<T>['read']): ColumnType<T> {
  return { sql, nullable: false, expected, append, read };
}

export const text = scalar<string>('VARCHAR', 'a string', (ap, v) => ap.appendVarchar(v), (v) => (typeof v === 'string' ? v : undefined));

export const integer = scalar<number>(
  'INTEGER',
  'an integer',
  (ap, v) => ap.appendInteger(v),
  (v) => (typeof v === 'number' && Number.isInteger(v) ? v : undefined),
);

export const double = scalar<number>('DOUBLE', 'a number', (ap, v) => ap.appendDouble(v), (v) => (typeof v === 'number' ? v : undefined));

/** A string of a closed set (a run's kind). */
export function oneOf<T extends string>(values: readonly T[]): ColumnType<T> {
  return {
    ...text,
    expected: `one of ${values.join(', ')}`,
    read: (v) => values.find((x) => x === v),
  };
}

/** A JSON object; undefined for text that is not one. */
export function parseJsonObject(source: unknown): JsonObject | undefined {
  try {
    const v = JSON.parse(String(source)) as unknown;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) return v as JsonObject;
  } catch {
    // not JSON
  }
  return undefined;
}

/** A JSON object kept as its text (configurations and free-form info). */
export const json = scalar<JsonObject>(
  'VARCHAR',
  'a JSON object',
  (ap, v) => ap.appendVarchar(JSON.stringify(v)),
  (v) => (typeof v === 'string' ? parseJsonObject(v) : undefined),
);

const TOP_K_TYPE = LIST(STRUCT({ code: VARCHAR, prob: DOUBLE }));

/** A result's top-k list (code, probability), in the model's order. */
export const topK = scalar<TopKEntry[]>(
  TOP_K_TYPE.toString(),
  'a list of (code, prob)',
  (ap, v) => ap.appendValue(listValue(v.map((e) => structValue({ code: e.code, prob: e.prob }))), TOP_K_TYPE),
  (v) => {
    if (!Array.isArray(v)) return undefined;
    const out: TopKEntry[] = [];
    for (const e of v as unknown[]) {
      if (e === null || typeof e !== 'object') return undefined;
      const { code, prob } = e as { code?: unknown; prob?: unknown };
      if (typeof code !== 'string' || typeof prob !== 'number') return undefined;
      out.push({ code, prob });
    }
    return out;
  },
);

/** The same column where SQL NULL stands for null. */
export function nullable<T>(type: ColumnType<T>): ColumnType<T | null> {
  return {
    sql: type.sql,
    nullable: true,
    expected: `${type.expected} or NULL`,
    append: (ap, v) => (v === null ? ap.appendNull() : type.append(ap, v)),
    read: (v) => (v === null || v === undefined ? null : type.read(v)),
  };
}
