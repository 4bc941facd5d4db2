/**
 * The run folder of a cluster evaluation (`slurm eval --dir DIR`), on a file system every node sees:
 *
 *   DIR/slurm-run.json     what was submitted: shards, eval flags, stores, and every submission's job ids
 *   DIR/eval.sbatch        the job array (task i: eval --shard i/N)
 *   DIR/merge.sbatch       the merge job
 *   DIR/shards/            one results store per shard (eval's default name: results.shard-I-of-N.duckdb)
 *   DIR/results.duckdb     the merged store, once every shard is complete
 *   DIR/logs/              each job's output
 *
 * `slurm status` and `slurm resume` need nothing but this folder.
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { InputError, NotFoundError } from '../errors.js';
import { defaultStorePath } from '../eval/shard.js';
import { writeFileAtomic } from '../data/io/atomic.js';
import type { SlurmResources } from './script.js';

export const RUN_FORMAT = 'labor-llm-slurm-run';
export const RUN_VERSION = 1;

/** One `sbatch` round: the shards it (re)submitted and the job ids Slurm gave. */
export interface Submission {
  at: string;
  shards: number[];
  /** Job id of the array (null when no shard was submitted, e.g. only the merge). */
  arrayJob: string | null;
  mergeJob: string | null;
}

export interface SlurmRun {
  format: typeof RUN_FORMAT;
  version: typeof RUN_VERSION;
  createdAt: string;
  dir: string;
  workDir: string;
  shards: number;
  /** The eval flags every shard runs with (less --shard and --out). */
  evalArgs: string[];
  resources: SlurmResources;
  launcher: string;
  stores: string[];
  merged: string;
  submissions: Submission[];
}

export interface RunLayout {
  dir: string;
  manifest: string;
  arrayScript: string;
  mergeScript: string;
  logs: string;
  stores: string[];
  merged: string;
}

export function runLayout(dir: string, shards: number): RunLayout {
  const abs = resolve(dir);
  return {
    dir: abs,
    manifest: join(abs, 'slurm-run.json'),
    arrayScript: join(abs, 'eval.sbatch'),
    mergeScript: join(abs, 'merge.sbatch'),
    logs: join(abs, 'logs'),
    stores: Array.from({ length: shards }, (_, i) => join(abs, 'shards', defaultStorePath(`${i}/${shards}`))),
    merged: join(abs, 'results.duckdb'),
  };
}

export function manifestPath(dir: string): string {
  return runLayout(dir, 0).manifest;
}

export async function readRun(dir: string): Promise<SlurmRun> {
  const path = manifestPath(dir);
  if (!existsSync(path)) throw new NotFoundError(`${path}: no cluster evaluation here (labor-llm slurm eval --dir ${dir} starts one)`);
  let run: Partial<SlurmRun>;
  try {
    run = JSON.parse(await readFile(path, 'utf8')) as Partial<SlurmRun>;
  } catch (err) {
    throw new InputError(`not valid JSON: ${(err as Error).message}`, { file: path });
  }
  if (run.format !== RUN_FORMAT) throw new InputError(`not a labor-llm slurm run (format ${JSON.stringify(run.format)})`, { file: path, field: 'format' });
  if (run.version !== RUN_VERSION) {
    throw new InputError(`slurm run version ${String(run.version)} is not supported (this labor-llm reads version ${RUN_VERSION})`, { file: path, field: 'version' });
  }
  return run as SlurmRun;
}

/** Writes the manifest whole or not at all (a status reader never sees half a file). */
export async function writeRun(run: SlurmRun): Promise<void> {
  await writeFileAtomic(manifestPath(run.dir), (tmp) => writeFile(tmp, `${JSON.stringify(run, null, 2)}\n`), { overwrite: true });
}
