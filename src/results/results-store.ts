/**
 * The results store: one DuckDB file per evaluation (`eval --out results.duckdb`).
 *
 * Why DuckDB: results are written as they are produced and must survive a kill at any moment, which
 * needs real transactions (a write-ahead log, committed on COMMIT); afterwards they are queried
 * (SQL over the file: `duckdb results.duckdb "select run, exp(-avg(log_prob)) from results group by run"`)
 * and exported (Parquet) without any code of ours. SQLite would give the first, not the columnar
 * queries or Parquet; JSONL files give neither atomic multi-row commits nor queries.
 *
 * Tables (schema version 2: one row per record, the first one included, its from_code NULL):
 *   store_meta   key 'meta' -> StoreMeta as JSON: which transitions (panel fingerprint, split, limit, shards)
 *   workers      the evaluated workers of the store's shards (ord = position in the whole selection)
 *   runs         name, kind, config (compared on append), info (not compared)
 *   results      one row per (run, worker, record index); see StoredResult
 *   worker_done  (run, worker): the worker's results are complete; written in the SAME transaction as
 *                its results, so a worker is either absent or whole, never half-written
 *   sessions     one row per invocation that wrote to a run (start, end, workers scored, host...)
 * Their columns are listed once, in tables.ts; that list makes the schema, the appender and the reader.
 *
 * A store is created under a temporary name and renamed once its tables and workers are committed, so
 * a file at the store's path always has its metadata.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { hostname } from 'node:os';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { ParameterError, InputError, NotFoundError, StateError } from '../errors.js';
import { parseJsonObject } from './columns.js';
import {
  appendRows,
  createTableSql,
  damaged,
  readRow,
  RESULTS,
  RUNS,
  SESSIONS,
  STORE_META,
  TABLES,
  type Table,
  WORKER_DONE,
  WORKERS,
} from './tables.js';
import {
  type JsonObject,
  type RunProgress,
  type RunRecord,
  type SessionRecord,
  STORE_FORMAT,
  STORE_VERSION,
  type StoredResult,
  type StoredWorker,
  type StoreMeta,
  type WorkerResults,
} from './types.js';

/** Columns of `results` in table order (the appender writes them in this order). */
export const RESULT_COLUMNS: readonly string[] = RESULTS.columns.map((c) => c.name);

export interface OpenOptions {
  readOnly?: boolean;
  /** DuckDB worker threads (default 1 when writing, leaving the cores to the model). */
  threads?: number;
}

/** DuckDB's "Could not set lock" as a message that says what to do (a checksum error "in block" is no lock). */
function openError(path: string, err: unknown): Error {
  const msg = (err as Error).message ?? String(err);
  if (/could not set lock|conflicting lock/i.test(msg)) {
    return new StateError(
      `${path}: the results store is open in another process (an evaluation still running?); wait for it or stop it. DuckDB said: ${msg}`,
    );
  }
  if (/checksum|corrupt|invalid|not a valid DuckDB/i.test(msg)) {
    return new ParameterError('out', `the results store is damaged or not a DuckDB file (restore it or start a new \`out\` store): ${msg}`, { file: path });
  }
  return new InputError(`cannot open the results store: ${msg}`, { file: path });
}

export class ResultsStore {
  readonly path: string;
  readonly meta: StoreMeta;
  readonly readOnly: boolean;
  private instance: DuckDBInstance | null;
  private conn: DuckDBConnection | null;

  private constructor(path: string, instance: DuckDBInstance, conn: DuckDBConnection, meta: StoreMeta, readOnly: boolean) {
    this.path = path;
    this.instance = instance;
    this.conn = conn;
    this.meta = meta;
    this.readOnly = readOnly;
  }

  /** Opens an existing store; NotFoundError if there is no file, InputError if it is not a results store. */
  static async open(path: string, opts: OpenOptions = {}): Promise<ResultsStore> {
    if (!existsSync(path)) throw new NotFoundError(`${path}: no such results store`);
    if (!statSync(path).isFile()) throw new InputError('expected a results store file (DuckDB), found a folder', { file: path });
    const readOnly = opts.readOnly ?? false;
    const config: Record<string, string> = {};
    if (readOnly) config.access_mode = 'READ_ONLY';
    const threads = opts.threads ?? (readOnly ? undefined : 1);
    if (threads !== undefined) config.threads = String(threads);
    let instance: DuckDBInstance;
    try {
      instance = await DuckDBInstance.create(path, config);
    } catch (err) {
      throw openError(path, err);
    }
    const conn = await instance.connect();
    try {
      const meta = await readMeta(conn, path);
      return new ResultsStore(path, instance, conn, meta, readOnly);
    } catch (err) {
      conn.closeSync();
      instance.closeSync();
      throw err;
    }
  }

  /**
   * Creates a store with its metadata and workers. The file appears at `path` only once complete;
   * an existing file is an error (open it instead).
   */
  static async create(path: string, meta: StoreMeta, workers: readonly StoredWorker[], opts: OpenOptions = {}): Promise<ResultsStore> {
    if (existsSync(path)) throw new InputError('a file already exists here; open it as a store or choose another path', { file: path });
    mkdirSync(dirname(path), { recursive: true });
    removeStaleTemporaries(path);
    // Unique per call: two creators in one process must not share a temporary file either.
    const tmp = `${path}.creating-${process.pid}-${randomBytes(4).toString('hex')}`;
    {
      const instance = await DuckDBInstance.create(tmp, { threads: '1' });
      const conn = await instance.connect();
      try {
        await conn.run('BEGIN TRANSACTION');
        for (const t of TABLES) await conn.run(createTableSql(t));
        await appendRows(conn, STORE_META, [{ key: 'meta', value: JSON.stringify(meta) }]);
        await appendRows(conn, WORKERS, workers);
        await conn.run('COMMIT');
        await conn.run('CHECKPOINT');
      } finally {
        conn.closeSync();
        instance.closeSync();
      }
    }
    rmSync(`${tmp}.wal`, { force: true });
    // A hard link fails if another process created the store meanwhile, where a rename would replace
    // it (and the other process, still writing to the replaced file, would lose its run).
    try {
      try {
        linkSync(tmp, path);
      } catch (err) {
        // File systems without hard links: the checked rename (a narrow window, as before).
        if (!['EPERM', 'ENOTSUP', 'ENOSYS'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err;
        if (existsSync(path)) throw Object.assign(new Error('exists'), { code: 'EEXIST' });
        renameSync(tmp, path);
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      throw new StateError(
        `${path}: another process created this results store at the same time; run the command again to add to it ` +
          `(or give another --out)`,
      );
    } finally {
      rmSync(tmp, { force: true });
    }
    return ResultsStore.open(path, opts);
  }

  private live(): DuckDBConnection {
    if (!this.conn) throw new StateError(`the results store ${this.path} is closed`);
    return this.conn;
  }

  /** The underlying connection, for SQL of one's own (read-only use recommended). */
  connection(): DuckDBConnection {
    return this.live();
  }

  async workers(): Promise<StoredWorker[]> {
    return this.read(WORKERS, 'SELECT * FROM workers ORDER BY ord');
  }

  async runs(): Promise<RunRecord[]> {
    return this.read(RUNS, 'SELECT * FROM runs ORDER BY created_at, name');
  }

  async getRun(name: string): Promise<RunRecord | undefined> {
    return (await this.runs()).find((r) => r.name === name);
  }

  async addRun(run: RunRecord): Promise<void> {
    await appendRows(this.live(), RUNS, [run]);
  }

  /** Ids of the workers whose results for `run` are complete. */
  async completedWorkers(run: string): Promise<Set<string>> {
    const rows = await this.read(WORKER_DONE, 'SELECT * FROM worker_done WHERE run = $1', [run]);
    return new Set(rows.map((r) => r.workerId));
  }

  async progress(run: string): Promise<RunProgress> {
    const rows = await this.rows(
      `SELECT (SELECT count(*) FROM workers) AS wt, (SELECT coalesce(sum(transitions), 0) FROM workers) AS tt,
              count(d.worker_id) AS wd, coalesce(sum(d.transitions), 0) AS td
       FROM worker_done d WHERE d.run = $1`,
      [run],
    );
    const r = rows[0]!;
    const p = {
      run,
      workersDone: Number(r.wd),
      workersTotal: Number(r.wt),
      transitionsDone: Number(r.td),
      transitionsTotal: Number(r.tt),
    };
    return { ...p, complete: p.workersDone === p.workersTotal };
  }

  /**
   * Writes the results of whole workers and marks them complete, all in ONE transaction: after a kill,
   * each worker is either entirely there or not at all.
   */
  async commitWorkers(run: string, batch: readonly WorkerResults[]): Promise<void> {
    if (batch.length === 0) return;
    const conn = this.live();
    await conn.run('BEGIN TRANSACTION');
    try {
      for (const w of batch) {
        const stray = w.results.find((r) => r.workerId !== w.workerId);
        if (stray) throw new StateError(`result of worker "${stray.workerId}" filed under "${w.workerId}"`);
      }
      await appendRows(conn, RESULTS, batch.flatMap((w) => w.results.map((r) => ({ run, ...r }))));
      await appendRows(conn, WORKER_DONE, batch.map((w) => ({ run, workerId: w.workerId, transitions: w.results.length })));
      await conn.run('COMMIT');
    } catch (err) {
      await conn.run('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }

  /** The results of `run`, in evaluation order (worker ord, then record index). */
  async results(run: string): Promise<StoredResult[]> {
    const rows = await this.read(
      RESULTS,
      `SELECT r.* FROM results r JOIN workers w ON w.worker_id = r.worker_id
       WHERE r.run = $1 ORDER BY w.ord, r.idx`,
      [run],
    );
    return rows.map(({ run: _, ...result }) => result);
  }

  /**
   * Starts a session row; returns its id for finishSession(). The row records how many workers the run
   * had when the session started, so a watcher (`slurm status`) can tell this session's rate and ETA
   * while it runs.
   */
  async startSession(run: string, info: JsonObject): Promise<number> {
    const rows = await this.rows(
      'SELECT coalesce(max(id), 0) + 1 AS id, (SELECT count(*) FROM worker_done WHERE run = $1) AS done FROM sessions',
      [run],
    );
    const id = Number(rows[0]!.id);
    await appendRows(this.live(), SESSIONS, [
      {
        id,
        run,
        startedAt: new Date().toISOString(),
        finishedAt: null,
        workersScored: 0,
        info: { host: hostname(), pid: process.pid, workersDoneAtStart: Number(rows[0]!.done), ...info },
      },
    ]);
    return id;
  }

  async finishSession(id: number, workersScored: number): Promise<void> {
    await this.live().run('UPDATE sessions SET finished_at = $1, workers_scored = $2 WHERE id = $3', [
      new Date().toISOString(),
      workersScored,
      id,
    ]);
  }

  async sessions(): Promise<SessionRecord[]> {
    const rows = await this.read(SESSIONS, 'SELECT * FROM sessions ORDER BY id');
    return rows.map(({ id: _, ...session }) => session);
  }

  /** Runs a query over one table's columns and returns its rows, each value checked. */
  private async read<Row>(t: Table<Row>, sql: string, params?: (string | number | null)[]): Promise<Row[]> {
    return (await this.rows(sql, params)).map((r) => readRow(t, r, this.path));
  }

  /** Runs a query and returns plain JS row objects. */
  async rows(sql: string, params?: (string | number | null)[]): Promise<Record<string, unknown>[]> {
    const reader = await this.live().runAndReadAll(sql, params);
    return reader.getRowObjectsJS() as Record<string, unknown>[];
  }

  async close(): Promise<void> {
    const conn = this.conn;
    const instance = this.instance;
    this.conn = null;
    this.instance = null;
    if (conn) {
      if (!this.readOnly) await conn.run('CHECKPOINT').catch(() => undefined);
      conn.closeSync();
    }
    instance?.closeSync();
  }
}

/** Removes `<path>.creating-<pid>` files left by processes killed while creating the store. */
function removeStaleTemporaries(path: string): void {
  const dir = dirname(path);
  const prefix = `${basename(path)}.creating-`;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number.parseInt(name.slice(prefix.length), 10);
    if (!Number.isInteger(pid) || pid === process.pid || processAlive(pid)) continue;
    rmSync(join(dir, name), { force: true });
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readMeta(conn: DuckDBConnection, path: string): Promise<StoreMeta> {
  let value: unknown;
  try {
    const reader = await conn.runAndReadAll(`SELECT value FROM store_meta WHERE key = 'meta'`);
    value = reader.getRowsJS()[0]?.[0];
  } catch (err) {
    throw new InputError(`not a labor-llm results store (${(err as Error).message.split('\n')[0]})`, { file: path });
  }
  if (typeof value !== 'string') throw new InputError('not a labor-llm results store (no metadata)', { file: path });
  const parsed = parseJsonObject(value);
  if (parsed === undefined) throw damaged(path, 'store_meta', 'a JSON object', value);
  const meta = parsed as Partial<StoreMeta>;
  if (meta.format !== STORE_FORMAT) {
    throw new InputError(`not a labor-llm results store (format ${JSON.stringify(meta.format)})`, { file: path, field: 'format' });
  }
  if ((meta.version as number | undefined) === 1) {
    throw new ParameterError(
      'out',
      `results store version 1 holds transitions only (records 2..T), from before every record was scored; ` +
        `its numbers are not comparable with this version's (records 1..T, as the paper): evaluate again into a new \`out\` store`,
      { file: path, field: 'version' },
    );
  }
  if (meta.version !== STORE_VERSION) {
    throw new InputError(`results store version ${String(meta.version)} is not supported (this labor-llm reads version ${STORE_VERSION})`, {
      file: path,
      field: 'version',
    });
  }
  return meta as StoreMeta;
}
