/**
 * ImportedScorer: an outside model's per-record log-probabilities (CAREER's, or any model run
 * elsewhere) stored as a run, so that it gets its row and paired differences in the report.
 *
 * The file is CSV (with a header) or Parquet with the columns
 *
 *   worker_id   the panel's worker id
 *   year        the record's year
 *   log_prob    natural log of the probability the model gave the record's observed code (<= 0)
 *   code        optional: the observed code, checked against the panel
 *
 * It must cover every evaluated record exactly once (the first record of each worker included), with
 * years (and codes) that agree with the panel; anything else is an InputError naming the first bad row
 * (its line in a CSV, its row number in a Parquet file). Rows of workers of the evaluated split that
 * this evaluation leaves out (another shard, beyond --limit) are skipped. The log-probs are stored as
 * raw log-probs: the report shows them in the raw perplexity (for a model that normalizes over the
 * codes, as CAREER does, raw and normalized are the same) and has no ranks or binary tasks for them.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { basename, extname, resolve } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { InputError, NotFoundError } from '../errors.js';
import type { Worker } from '../data/panel/types.js';
import type { StoredResult } from '../results/types.js';
import { packageVersion } from '../package.js';
import { rawResult, type RunIdentity, type Scorer, type ScorerContext, type ScorerFacts } from './scorer.js';

const REQUIRED = ['worker_id', 'year', 'log_prob'] as const;
const quote = (s: string): string => `'${s.replaceAll("'", "''")}'`;

interface ScoreRow {
  /** How an error names the row: "line 7" (CSV) or "row 6" (Parquet). */
  where: string;
  workerId: string;
  year: string;
  logProb: string;
  code: string | null;
}

function formatOf(file: string): 'csv' | 'parquet' {
  const ext = extname(file).toLowerCase();
  if (ext === '.parquet' || ext === '.pq') return 'parquet';
  if (ext === '.csv') return 'csv';
  throw new InputError('import scores from a .csv or .parquet file', { file, field: 'import-scores' });
}

/** Every row of the file as strings, in file order. */
async function readRows(file: string): Promise<ScoreRow[]> {
  const format = formatOf(file);
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  try {
    const source = format === 'csv' ? `read_csv(${quote(file)}, header = true, all_varchar = true)` : `read_parquet(${quote(file)})`;
    let reader;
    try {
      reader = await conn.runAndReadAll(`SELECT * FROM ${source}`);
    } catch (err) {
      throw new InputError(`cannot read the scores: ${(err as Error).message.split('\n')[0]}`, { file, field: 'import-scores' });
    }
    const columns = reader.columnNames();
    const missing = REQUIRED.filter((c) => !columns.includes(c));
    if (missing.length > 0) {
      throw new InputError(`the scores have no column ${missing.join(', ')} (columns: ${columns.join(', ')}; need worker_id, year, log_prob, optional code)`, {
        file,
        field: missing[0]!,
      });
    }
    const str = (v: unknown): string => (v === null || v === undefined ? '' : String(v));
    return (reader.getRowObjectsJS() as Record<string, unknown>[]).map((r, i) => ({
      where: format === 'csv' ? `line ${i + 2}` : `row ${i + 1}`,
      workerId: str(r.worker_id),
      year: str(r.year),
      logProb: str(r.log_prob),
      code: columns.includes('code') && r.code !== null && r.code !== undefined ? str(r.code) : null,
    }));
  } finally {
    conn.closeSync();
    db.closeSync();
  }
}

async function sha256Of(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export class ImportedScorer implements Scorer {
  readonly defaultRunName: string;
  private readonly file: string;
  /** Worker id -> log-prob of each of its records, in record order. */
  private scores = new Map<string, number[]>();

  constructor(file: string) {
    this.file = resolve(file);
    formatOf(this.file);
    const name = basename(file);
    this.defaultRunName = name.slice(0, name.length - extname(name).length);
  }

  async identify(ctx: ScorerContext): Promise<RunIdentity> {
    if (!existsSync(this.file)) throw new NotFoundError(`${this.file}: no such score file`);
    this.scores = checkScores(this.file, await readRows(this.file), ctx);
    return {
      kind: 'imported',
      config: {
        kind: 'imported',
        file: { name: basename(this.file), size: statSync(this.file).size, sha256: await sha256Of(this.file) },
        labor_llm: packageVersion(),
      },
    };
  }

  async start(): Promise<ScorerFacts> {
    return { info: { scoresPath: this.file }, session: {} };
  }

  async scoreWorker(worker: Worker): Promise<StoredResult[]> {
    const lps = this.scores.get(worker.id);
    if (!lps) throw new InputError(`no scores for worker "${worker.id}"`, { file: this.file });
    return worker.records.map((_, i) => rawResult(worker, i, lps[i]!));
  }

  stats(): null {
    return null;
  }

  async free(): Promise<void> {
    this.scores = new Map();
  }
}

/**
 * Matches every row to one evaluated record; InputError naming the first bad row (unknown worker,
 * no record that year, a second row for a record, a code or log-prob that is wrong), or the first
 * record no row covers.
 */
function checkScores(file: string, rows: readonly ScoreRow[], ctx: ScorerContext): Map<string, number[]> {
  const ds = ctx.dataset;
  const evaluated = new Map(ds.workers.map((w) => [w.id, w]));
  const inSplit = new Set(ds.store.panel.workers.filter((w) => ds.store.splits.get(w.id) === ds.split).map((w) => w.id));
  const scores = new Map(ds.workers.map((w) => [w.id, new Array<number>(w.records.length).fill(NaN)]));
  const seenAt = new Map<string, string>();
  const bad = (row: ScoreRow, field: string, message: string): InputError =>
    new InputError(`${row.where}: ${message}`, { file, field });
  for (const row of rows) {
    const worker = evaluated.get(row.workerId);
    if (!worker) {
      if (inSplit.has(row.workerId)) continue; // another shard, or beyond --limit
      throw bad(row, 'worker_id', `worker "${row.workerId}" is not a worker of the panel's ${ds.split} split`);
    }
    const year = Number(row.year);
    const index = Number.isInteger(year) ? worker.records.findIndex((r) => r.year === year) : -1;
    if (index < 0) {
      throw bad(row, 'year', `worker "${row.workerId}" has no record in year ${JSON.stringify(row.year)} (its years: ${worker.records.map((r) => r.year).join(', ')})`);
    }
    const key = `${row.workerId}\u0000${index}`;
    const first = seenAt.get(key);
    if (first !== undefined) throw bad(row, 'year', `worker "${row.workerId}", year ${year} is scored twice (first at ${first})`);
    seenAt.set(key, row.where);
    const rec = worker.records[index]!;
    if (row.code !== null && row.code !== rec.code) {
      throw bad(row, 'code', `worker "${row.workerId}", year ${year}: code "${row.code}", but the panel has "${rec.code}"`);
    }
    const lp = Number(row.logProb);
    if (row.logProb.trim() === '' || !Number.isFinite(lp) || lp > 1e-9) {
      throw bad(row, 'log_prob', `log_prob ${JSON.stringify(row.logProb)} is not a log-probability (a finite number <= 0)`);
    }
    scores.get(worker.id)![index] = Math.min(0, lp);
  }
  for (const w of ds.workers) {
    const lps = scores.get(w.id)!;
    const gap = lps.findIndex((x) => Number.isNaN(x));
    if (gap >= 0) {
      throw new InputError(
        `no row scores worker "${w.id}", year ${w.records[gap]!.year} (record ${gap + 1} of ${w.records.length}); ` +
          'the file must cover every record of every evaluated worker, the first record included',
        { file, field: 'worker_id' },
      );
    }
  }
  return scores;
}
