/**
 * How far a shard's results store has got: workers done of total, and the ETA of the session writing
 * it. A running eval holds its store's DuckDB write lock, which keeps every other process out (even
 * read-only), and a reader's lock would keep a starting eval out; so a store is read through a private
 * copy of its file and write-ahead log: DuckDB replays the log on opening, which gives every worker
 * committed up to the copy.
 */
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ResultsStore } from '../results/results-store.js';
import type { RunProgress } from '../results/types.js';

export interface ShardProgress {
  shard: number;
  store: string;
  /** False until the shard's job has created its store. */
  exists: boolean;
  runs: RunProgress[];
  /** Workers done by the least advanced run (0 before any run), of the shard's workers. */
  workersDone: number | null;
  workersTotal: number | null;
  /** Every run of the store is complete (and there is at least one). */
  complete: boolean;
  /** The latest session has not finished: a job is writing (or was killed without a word). */
  sessionOpen: boolean;
  /** Remaining seconds at the open session's rate; null without one or before its first worker. */
  etaSeconds: number | null;
}

/**
 * Runs `use` on a private copy of a store. Never on the store itself: even a read-only open takes a
 * lock, and a shard job that starts or resumes at that moment could not open its store and would fail.
 */
async function withStoreCopy<T>(path: string, use: (s: ResultsStore) => Promise<T>): Promise<T> {
  // The copy is not atomic: one taken while the job checkpoints can be torn, and a retry gets a whole one.
  for (let attempt = 1; ; attempt++) {
    const dir = await mkdtemp(join(tmpdir(), 'labor-llm-shard-'));
    try {
      const copy = join(dir, 'store.duckdb');
      await copyFile(path, copy);
      if (existsSync(`${path}.wal`)) await copyFile(`${path}.wal`, `${copy}.wal`).catch(() => undefined);
      const s = await ResultsStore.open(copy, { readOnly: true });
      try {
        return await use(s);
      } finally {
        await s.close();
      }
    } catch (err) {
      if (attempt >= 3) throw err;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}

export async function readShardProgress(shard: number, store: string, now: Date = new Date()): Promise<ShardProgress> {
  const empty: ShardProgress = {
    shard,
    store,
    exists: false,
    runs: [],
    workersDone: null,
    workersTotal: null,
    complete: false,
    sessionOpen: false,
    etaSeconds: null,
  };
  if (!existsSync(store)) return empty;
  const value = await withStoreCopy(store, async (s) => {
    const runs: RunProgress[] = [];
    for (const r of await s.runs()) runs.push(await s.progress(r.name));
    const total = (await s.workers()).length;
    const sessions = await s.sessions();
    return { runs, total, last: sessions[sessions.length - 1] };
  });
  const least = value.runs.reduce<RunProgress | undefined>((a, r) => (a === undefined || r.workersDone < a.workersDone ? r : a), undefined);
  const done = least?.workersDone ?? 0;
  const sessionOpen = value.last !== undefined && value.last.finishedAt === null;
  let etaSeconds: number | null = null;
  if (sessionOpen && value.last) {
    const atStart = value.last.info.workersDoneAtStart;
    const runDone = value.runs.find((r) => r.run === value.last!.run)?.workersDone;
    const elapsed = (now.getTime() - Date.parse(value.last.startedAt)) / 1000;
    if (typeof atStart === 'number' && runDone !== undefined && runDone > atStart && elapsed > 0) {
      etaSeconds = ((value.total - runDone) * elapsed) / (runDone - atStart);
    }
  }
  return {
    ...empty,
    exists: true,
    runs: value.runs,
    workersDone: done,
    workersTotal: value.total,
    complete: value.runs.length > 0 && value.runs.every((r) => r.complete),
    sessionOpen,
    etaSeconds,
  };
}
