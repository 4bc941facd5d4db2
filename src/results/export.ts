/**
 * Exports the results of one or more stores to one Parquet (or CSV) file: every run's rows with the
 * workers' traits, a `store` column naming the file they came from, in store, run and evaluation order.
 */
import { extname } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { InputError } from '../errors.js';
import { ResultsStore } from './results-store.js';

export type ExportFormat = 'parquet' | 'csv';

export function exportFormatOf(file: string): ExportFormat {
  const ext = extname(file).toLowerCase();
  if (ext === '.parquet' || ext === '.pq') return 'parquet';
  if (ext === '.csv') return 'csv';
  throw new InputError('export to a .parquet or .csv file', { file });
}

const quote = (s: string): string => `'${s.replaceAll("'", "''")}'`;

/** Writes the rows of every store to `file`; returns the number of rows. */
export async function exportResults(stores: readonly string[], file: string): Promise<number> {
  const format = exportFormatOf(file);
  // Open each store once through ResultsStore: it checks that the file is a results store.
  for (const s of stores) await (await ResultsStore.open(s, { readOnly: true })).close();
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  try {
    const selects: string[] = [];
    for (let i = 0; i < stores.length; i++) {
      await conn.run(`ATTACH ${quote(stores[i]!)} AS s${i} (READ_ONLY)`);
      selects.push(
        `SELECT ${quote(stores[i]!)} AS store, r.*, w.ord, w.gender, w.ethnicity, w.region, w.birth_year, ${i} AS store_ord
         FROM s${i}.results r JOIN s${i}.workers w ON w.worker_id = r.worker_id`,
      );
    }
    // CSV has no lists: top_k becomes a JSON array there ([{"code":"9002","prob":0.32},...]).
    const columns = format === 'csv' ? '* EXCLUDE (store_ord, top_k), to_json(top_k)::VARCHAR AS top_k' : '* EXCLUDE (store_ord)';
    const body = `SELECT ${columns} FROM (${selects.join(' UNION ALL ')}) ORDER BY store_ord, run, ord, idx`;
    await conn.run(`COPY (${body}) TO ${quote(file)} (FORMAT ${format === 'parquet' ? 'parquet' : 'csv, HEADER true'})`);
    const n = await conn.runAndReadAll(`SELECT count(*) FROM (${body})`);
    return Number(n.getRowsJS()[0]![0]);
  } finally {
    conn.closeSync();
    db.closeSync();
  }
}
