/**
 * The long table as Parquet, read and written through DuckDB (read_parquet, COPY ... TO ... (FORMAT
 * parquet)). Reading converts every cell to text and hands the rows to the same code as the CSV
 * importer, so both formats accept the same values and give the same errors; in Parquet errors
 * "line" is the 1-based data row.
 */
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DuckDBInstance, type DuckDBAppender, type DuckDBConnection } from '@duckdb/node-api';
import { InputError } from '../../errors.js';
import type { Panel } from '../panel/types.js';
import { writeFileAtomic } from './atomic.js';
import {
  exportedFields,
  type LongExportOptions,
  type LongField,
  type LongImportOptions,
  panelRows,
  resolveColumns,
  tableToPanel,
  type TableRows,
} from './long-table.js';
import { readBytes } from './text-file.js';
import type { ImportedPanel, SplitMembership } from './types.js';

const MAGIC = 'PAR1';

/** True when the bytes start like a Parquet file. */
export function looksLikeParquet(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && Buffer.from(bytes.subarray(0, 4)).toString('latin1') === MAGIC;
}

function sqlString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

async function withConnection<T>(run: (con: DuckDBConnection) => Promise<T>): Promise<T> {
  const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
  const con = await instance.connect();
  try {
    return await run(con);
  } finally {
    con.closeSync();
    instance.closeSync();
  }
}

/** Reads a Parquet long table's rows as text cells. */
export async function readParquetRows(file: string): Promise<TableRows> {
  const bytes = await readBytes(file);
  if (bytes.length === 0) throw new InputError('the file is empty', { file, line: 1 });
  if (!looksLikeParquet(bytes) || !looksLikeParquet(bytes.subarray(bytes.length - 4))) {
    throw new InputError('not a Parquet file (it does not start and end with "PAR1")', { file });
  }
  // DuckDB expands glob characters in a path: `a*.parquet` would read every file it matches. A
  // path with any of them is read through a symlink whose name has none.
  let literal = file;
  let linkDir: string | undefined;
  if (/[*?[\]{}]/.test(file)) {
    linkDir = await mkdtemp(join(tmpdir(), 'labor-llm-parquet-'));
    literal = join(linkDir, 'input.parquet');
    await symlink(resolve(file), literal);
  }
  return withConnection(async (con) => {
    let reader;
    try {
      reader = await con.runAndReadAll(`SELECT * FROM read_parquet(${sqlString(literal)})`);
    } catch (cause) {
      throw new InputError(`cannot read Parquet: ${(cause as Error).message.split(literal).join(file)}`, { file }, { cause });
    } finally {
      if (linkDir !== undefined) await rm(linkDir, { recursive: true, force: true });
    }
    const header = reader.columnNames();
    const rows = reader.getRowsJS().map((values, i) => ({
      cells: values.map((v, c) => cellText(v, file, i + 1, header[c] ?? '')),
      line: i + 1,
    }));
    return { file, header, rows, lineKind: 'row' as const };
  });
}

function cellText(value: unknown, file: string, row: number, field: string): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') {
    // As in CSV files: a NUL byte is never part of a real name or code.
    if (value.includes('\0')) throw new InputError('the value contains a NUL byte', { file, line: row, field });
    return value;
  }
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  throw new InputError(`unsupported Parquet value type (${typeof value}); use text or numbers`, {
    file,
    line: row,
    field,
  });
}

/** Reads a Parquet long table into a validated Panel (see long-table.ts for the columns). */
export async function readLongParquet(file: string, opts: LongImportOptions): Promise<ImportedPanel> {
  return tableToPanel(await readParquetRows(file), opts);
}

const SQL_TYPE: Record<LongField, string> = {
  worker_id: 'VARCHAR',
  dataset: 'VARCHAR',
  year: 'INTEGER',
  code: 'VARCHAR',
  education: 'VARCHAR',
  birth_year: 'INTEGER',
  gender: 'VARCHAR',
  ethnicity: 'VARCHAR',
  region: 'VARCHAR',
  state: 'VARCHAR',
  split: 'VARCHAR',
  true_probability: 'DOUBLE',
};

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function append(appender: DuckDBAppender, field: LongField, value: string | number | null): void {
  if (value === null) appender.appendNull();
  else if (SQL_TYPE[field] === 'INTEGER') appender.appendInteger(value as number);
  else if (SQL_TYPE[field] === 'DOUBLE') appender.appendDouble(value as number);
  else appender.appendVarchar(value as string);
}

/** Writes a panel as a Parquet long table (atomically), with typed columns (years as INTEGER). */
export async function writeLongParquet(
  file: string,
  panel: Panel,
  splits?: SplitMembership,
  opts: LongExportOptions = {},
): Promise<{ file: string; rows: number }> {
  const names = resolveColumns(opts.columns);
  const fields = exportedFields(panel, splits);
  const rows = panelRows(panel, splits, fields);
  await writeFileAtomic(
    file,
    (tmp) =>
      withConnection(async (con) => {
        const cols = fields.map((f) => `${quoteIdent(names[f])} ${SQL_TYPE[f]}`).join(', ');
        await con.run(`CREATE TABLE panel (${cols})`);
        const appender = await con.createAppender('panel');
        for (const row of rows) {
          fields.forEach((f, i) => append(appender, f, row[i] ?? null));
          appender.endRow();
        }
        appender.closeSync();
        await con.run(`COPY panel TO ${sqlString(tmp)} (FORMAT parquet)`);
      }),
    opts,
  );
  return { file, rows: rows.length };
}
