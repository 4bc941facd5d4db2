/**
 * Merging shard stores (one per job of a Slurm array, `eval --shard i/n`) into one store.
 *
 * Checked first, before anything is written: every input is a results store of the same dataset
 * identity (same panel content, split, limit) split into the same number of shards; their shards are
 * disjoint; their workers are disjoint; a run present in several inputs has the same configuration in
 * each; and, unless `allowIncomplete`, every input holds every run complete (a shard whose job was
 * killed, timed out or never ran is finished first, e.g. by `labor-llm slurm resume`). The output
 * holds the union. When the inputs cover every shard, the output is an unsharded
 * store (shards {count 1, indices [0]}, every worker's shard 0), interchangeable with a store from one
 * unsharded run: `eval` can resume into it (e.g. to finish a run that is missing in one shard).
 */
import { existsSync, rmSync } from 'node:fs';
import { InputError } from '../errors.js';
import { refuseInputAsOutput, refuseRepeatedInputs } from '../data/io/same-file.js';
import { canonicalJson, describeDifferences, jsonDifferences } from './identity.js';
import { ResultsStore } from './results-store.js';
import { SESSIONS } from './tables.js';
import type { JsonValue, RunProgress, RunRecord, StoredWorker, StoreMeta } from './types.js';

export interface MergeReport {
  out: string;
  inputs: string[];
  shards: StoreMeta['shards'];
  workers: number;
  runs: RunProgress[];
}

export interface MergeOptions {
  /** Replace `out` if it exists. */
  overwrite?: boolean;
  /** Merge inputs whose runs are not complete (or missing) too; the merged runs are then incomplete. */
  allowIncomplete?: boolean;
}

export async function mergeStores(out: string, inputs: readonly string[], opts: MergeOptions = {}): Promise<MergeReport> {
  if (inputs.length === 0) throw new InputError('merge needs at least one input store');
  refuseRepeatedInputs(inputs, 'store');
  // Compared as files: `a/./s0.duckdb` is `a/s0.duckdb`, and --force must never delete an input.
  refuseInputAsOutput(out, inputs, 'OUT');
  if (existsSync(out) && !opts.overwrite) {
    throw new InputError('the output store already exists; merge writes a new store', { file: out });
  }

  // Read everything we need from the inputs, then close them (the output attaches them read-only).
  const metas: StoreMeta[] = [];
  const workerLists: StoredWorker[][] = [];
  const runLists: RunRecord[][] = [];
  const progressLists: Map<string, RunProgress>[] = [];
  for (const path of inputs) {
    const s = await ResultsStore.open(path, { readOnly: true });
    try {
      metas.push(s.meta);
      workerLists.push(await s.workers());
      const runs = await s.runs();
      runLists.push(runs);
      const progress = new Map<string, RunProgress>();
      for (const r of runs) progress.set(r.name, await s.progress(r.name));
      progressLists.push(progress);
    } finally {
      await s.close();
    }
  }

  const first = metas[0]!;
  metas.forEach((m, i) => {
    const diffs = jsonDifferences(first.dataset as unknown as JsonValue, m.dataset as unknown as JsonValue);
    if (diffs.length > 0) {
      throw new InputError(`not from the same evaluation as ${inputs[0]}: ${describeDifferences(diffs)}`, { file: inputs[i]!, field: 'dataset' });
    }
    if (m.taxonomy.laborForce !== first.taxonomy.laborForce) {
      throw new InputError(`its labor-force task uses the ${m.taxonomy.laborForce} definition, ${inputs[0]} the ${first.taxonomy.laborForce} one`, {
        file: inputs[i]!,
        field: 'taxonomy.laborForce',
      });
    }
    if (m.shards.count !== first.shards.count) {
      throw new InputError(`split into ${m.shards.count} shards, ${inputs[0]} into ${first.shards.count}`, { file: inputs[i]!, field: 'shards' });
    }
  });
  const owner = new Map<number, string>();
  metas.forEach((m, i) => {
    for (const s of m.shards.indices) {
      const prev = owner.get(s);
      if (prev !== undefined) {
        throw new InputError(`shard ${s}/${m.shards.count} is also in ${prev}; shards must be disjoint`, { file: inputs[i]!, field: 'shards' });
      }
      owner.set(s, inputs[i]!);
    }
  });
  const workerOwner = new Map<string, string>();
  workerLists.forEach((ws, i) => {
    for (const w of ws) {
      const prev = workerOwner.get(w.workerId);
      if (prev !== undefined) throw new InputError(`worker "${w.workerId}" is also in ${prev}`, { file: inputs[i]! });
      workerOwner.set(w.workerId, inputs[i]!);
    }
  });
  const runs = new Map<string, RunRecord>();
  runLists.forEach((rs, i) => {
    for (const r of rs) {
      const prev = runs.get(r.name);
      if (prev === undefined) {
        runs.set(r.name, r);
        continue;
      }
      if (canonicalJson(prev.config) !== canonicalJson(r.config) || prev.kind !== r.kind) {
        throw new InputError(
          `run "${r.name}" has another configuration than in the other inputs: ${describeDifferences(jsonDifferences(prev.config, r.config))}`,
          { file: inputs[i]!, field: `runs.${r.name}` },
        );
      }
    }
  });

  if (!opts.allowIncomplete) {
    progressLists.forEach((progress, i) => {
      for (const name of runs.keys()) {
        const p = progress.get(name);
        if (p?.complete) continue;
        const what = p ? `has ${p.workersDone} of ${p.workersTotal} workers` : 'is missing';
        throw new InputError(
          `run "${name}" ${what}: finish this shard first (run its eval again, or labor-llm slurm resume), or merge anyway with --allow-incomplete`,
          { file: inputs[i]!, field: `runs.${name}` },
        );
      }
    });
  }

  const indices = [...owner.keys()].sort((a, b) => a - b);
  const complete = indices.length === first.shards.count;
  const shards = complete ? { count: 1, indices: [0] } : { count: first.shards.count, indices };
  const workers = workerLists
    .flat()
    .map((w) => (complete ? { ...w, shard: 0 } : w))
    .sort((a, b) => a.ord - b.ord);
  if (complete && workers.length !== first.dataset.workers) {
    throw new InputError(`the shards hold ${workers.length} workers but the evaluation has ${first.dataset.workers}`, { file: inputs[0]! });
  }
  const meta: StoreMeta = {
    ...first,
    shards,
    createdAt: new Date().toISOString(),
    source: { ...first.source, mergedFrom: inputs.map((p) => p) },
  };

  if (existsSync(out)) rmSync(out);
  const store = await ResultsStore.create(out, meta, workers);
  let ok = false;
  try {
    const conn = store.connection();
    const aliases = inputs.map((_, i) => `shard_input_${i}`);
    // Each input numbers its sessions from 1: the merged ones follow those already there.
    const sessionColumns = SESSIONS.columns.map((c) => (c.name === 'id' ? 'id + (SELECT coalesce(max(id), 0) FROM sessions)' : c.name)).join(', ');
    try {
      for (let i = 0; i < inputs.length; i++) {
        await conn.run(`ATTACH '${inputs[i]!.replaceAll("'", "''")}' AS ${aliases[i]} (READ_ONLY)`);
      }
      await conn.run('BEGIN TRANSACTION');
      try {
        for (const r of runs.values()) await store.addRun(r);
        for (const alias of aliases) {
          await conn.run(`INSERT INTO results SELECT * FROM ${alias}.results`);
          await conn.run(`INSERT INTO worker_done SELECT * FROM ${alias}.worker_done`);
          await conn.run(`INSERT INTO sessions SELECT ${sessionColumns} FROM ${alias}.sessions`);
        }
        await conn.run('COMMIT');
      } catch (err) {
        await conn.run('ROLLBACK').catch(() => undefined);
        throw err;
      }
    } finally {
      for (const alias of aliases) await conn.run(`DETACH ${alias}`).catch(() => undefined);
    }
    const progress: RunProgress[] = [];
    for (const r of runs.values()) progress.push(await store.progress(r.name));
    ok = true;
    return { out, inputs: [...inputs], shards, workers: workers.length, runs: progress };
  } finally {
    await store.close();
    // A failed merge leaves no output that looks like a finished store.
    if (!ok) rmSync(out, { force: true });
  }
}
