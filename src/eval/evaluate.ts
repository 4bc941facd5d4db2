/**
 * evaluate(): score every record of a panel's split with a Scorer (an LLM, a baseline, any
 * implementation of the interface in scorer.ts) into a results store, resumably.
 *
 * Order of work (every check that can fail runs before anything is written):
 *   1. options: shard, top-k (the scorer checked its own options when it was made);
 *   2. data: the panel store, its split (InputError if empty), the limit and the shard;
 *   3. identity: the dataset identity and the run's identity (Scorer.identify: model fingerprint,
 *      template, mode...);
 *   4. an existing store must be of the same dataset identity and shards, and a run of the same name
 *      must have the same configuration (InputError naming the differing fields otherwise);
 *   5. the scorer starts (Scorer.start): the model is loaded and must express every title
 *      (ModelError), or the baseline is fitted;
 *   6. the store and the run are created if new; then workers not yet complete are scored in order and
 *      committed in batches (each worker's rows with its completion mark, one transaction per batch).
 * A kill loses at most the uncommitted batch (about `commitIntervalMs` of work); running the same
 * command again skips complete workers and ends with the results of an uninterrupted run.
 */
import { resolve } from 'node:path';
import { notInLaborForceCodes } from '../baselines/score.js';
import { CancelledError, InputError, NotFoundError, ParameterError } from '../errors.js';
import { LABOR_FORCE_DEFINITIONS, type LaborForceDefinition } from '../metrics/binary.js';
import type { SplitName } from '../data/io/index.js';
import { canonicalJson, describeDifferences, jsonDifferences } from '../results/identity.js';
import { ResultsStore } from '../results/results-store.js';
import {
  type JsonObject,
  type JsonValue,
  type RunRecord,
  STORE_FORMAT,
  STORE_VERSION,
  type StoreMeta,
  type WorkerResults,
} from '../results/types.js';
import { packageVersion } from '../package.js';
import { type EvalDataset, loadEvalDataset } from './dataset.js';
import type { ScoringStats } from './llm.js';
import type { Scorer, ScorerContext } from './scorer.js';
import { sampledResults, type SampleSpec } from './sample.js';
import { formatShard, parseShard, type ShardSpec, UNSHARDED } from './shard.js';

export { packageVersion } from '../package.js';

export interface EvaluateOptions {
  /** Panel store folder (labor-llm data import/synth --out). */
  data: string;
  /** Results store file (created if missing). */
  out: string;
  /** What scores the records: new ModelScorer({...}), new BaselineScorer('empirical'), or your own. */
  scorer: Scorer;
  /** Split to evaluate (default test). */
  split?: SplitName;
  /** "i/n" or a ShardSpec (default: unsharded). */
  shard?: ShardSpec | string;
  /** Only the first N workers of the split. Part of the evaluation's identity. */
  limit?: number;
  /** Only a seeded random sample of the records (`--sample`, sample.ts). Part of the evaluation's identity. */
  sample?: SampleSpec;
  /** Codes kept per record with their probabilities (default 10). */
  topK?: number;
  /** Run name in the store (default: the scorer's defaultRunName: the model file's name without .gguf, the baseline's name). */
  name?: string;
  /** Commit at least this often (default 1000 ms); a worker is never split across commits. */
  commitIntervalMs?: number;
  /** The labor-force task's definition (default official: the unemployed are in the labor force). Fixed per store. */
  laborForce?: LaborForceDefinition;
}

export interface EvalProgress {
  run: string;
  workersDone: number;
  workersTotal: number;
  transitionsDone: number;
  transitionsTotal: number;
  /** Scored by this call (not counting what a previous session stored). */
  transitionsThisSession: number;
  elapsedMs: number;
  /** Remaining time at this session's rate; null before the first worker. */
  etaMs: number | null;
}

export interface EvaluateHooks {
  onProgress?: (p: EvalProgress) => void;
  /** Human-readable notes (store created, workers skipped, fit report). */
  onLog?: (message: string) => void;
  /** Stops between or inside workers; complete workers are committed first, then CancelledError. */
  signal?: AbortSignal;
}

export interface EvaluateResult {
  store: string;
  run: string;
  kind: RunRecord['kind'];
  shard: string;
  storeCreated: boolean;
  runCreated: boolean;
  workers: { total: number; alreadyDone: number; scored: number };
  transitions: { total: number; scored: number };
  complete: boolean;
  seconds: number;
  /** Engine token counts of this session (LLM runs): promptTokensEvaluated << promptTokens shows reuse. */
  stats: ScoringStats | null;
  config: JsonObject;
}

export const DEFAULT_TOP_K = 10;
const DEFAULT_COMMIT_MS = 1000;
/** A batch is committed early when it holds this many rows, whatever the time. */
const MAX_PENDING_ROWS = 20000;

function resolveShard(s: ShardSpec | string | undefined): ShardSpec {
  if (s === undefined) return UNSHARDED;
  if (typeof s === 'string') return parseShard(s);
  return parseShard(formatShard(s));
}

function checkTopK(k: number): number {
  if (!Number.isInteger(k) || k < 1) throw new ParameterError('topK', `\`topK\` must be a positive integer, got ${k}`);
  return k;
}

/** Checks an existing store against this evaluation; throws InputError naming the first differences. */
export function checkStoreIdentity(path: string, meta: StoreMeta, ds: EvalDataset, shard: ShardSpec): void {
  const diffs = jsonDifferences(meta.dataset as unknown as JsonValue, ds.identity as unknown as JsonValue);
  if (diffs.length > 0) {
    throw new ParameterError(
      'out',
      `this results store belongs to another evaluation (${describeDifferences(diffs)}); write to a new \`out\` store`,
      { file: path, field: 'dataset' },
    );
  }
  const want = { count: shard.count, indices: [shard.index] };
  if (canonicalJson(meta.shards as unknown as JsonValue) !== canonicalJson(want)) {
    const has = meta.shards.count === 1 ? 'all workers (unsharded)' : `shards ${meta.shards.indices.join(',')} of ${meta.shards.count}`;
    const now = shard.count === 1 ? 'all workers (no `shard`)' : `shard ${formatShard(shard)}`;
    throw new ParameterError('shard', `this results store holds ${has}, but this evaluation is ${now}; use one store per shard`, {
      file: path,
      field: 'shards',
    });
  }
}

export function checkRunConfig(path: string, run: RunRecord, kind: RunRecord['kind'], config: JsonObject): void {
  const diffs = jsonDifferences(run.config, config);
  if (run.kind !== kind) diffs.unshift({ path: 'kind', stored: run.kind, given: kind });
  if (diffs.length > 0) {
    throw new ParameterError(
      'name',
      `run "${run.name}" was made with another configuration (${describeDifferences(diffs)}); ` +
        'resume it with the same options, or give this run another `name`',
      { file: path, field: `runs.${run.name}` },
    );
  }
}

export async function evaluate(opts: EvaluateOptions, hooks: EvaluateHooks = {}): Promise<EvaluateResult> {
  const started = performance.now();
  const scorer = opts.scorer;
  const shard = resolveShard(opts.shard);
  const topK = checkTopK(opts.topK ?? DEFAULT_TOP_K);
  const out = resolve(opts.out);
  const log = hooks.onLog ?? (() => undefined);

  const ds = await loadEvalDataset(opts.data, { split: opts.split, shard, limit: opts.limit, sample: opts.sample });
  const laborForce = opts.laborForce ?? 'official';
  if (!LABOR_FORCE_DEFINITIONS.includes(laborForce)) {
    throw new ParameterError('laborForce', `\`laborForce\` must be one of ${LABOR_FORCE_DEFINITIONS.join(', ')}, got "${String(laborForce)}"`);
  }
  const ctx: ScorerContext = { dataset: ds, topK, notInLaborForce: notInLaborForceCodes(ds.store.taxonomy, laborForce), log };
  const runName = opts.name ?? scorer.defaultRunName;
  if (runName.trim() === '') throw new ParameterError('name', 'the run name `name` is empty');
  const { kind, config } = await scorer.identify(ctx);
  const result = (p: { total: number; done: number; scored: number; transitionsTotal: number; transitionsScored: number }, extra: {
    storeCreated: boolean;
    runCreated: boolean;
    complete: boolean;
    stats: ScoringStats | null;
  }): EvaluateResult => ({
    store: out,
    run: runName,
    kind,
    shard: formatShard(shard),
    storeCreated: extra.storeCreated,
    runCreated: extra.runCreated,
    workers: { total: p.total, alreadyDone: p.done, scored: p.scored },
    transitions: { total: p.transitionsTotal, scored: p.transitionsScored },
    complete: extra.complete,
    seconds: (performance.now() - started) / 1000,
    stats: extra.stats ? { ...extra.stats } : null,
    config,
  });

  // An existing store is checked before anything is loaded or written.
  let store: ResultsStore | null = null;
  try {
    try {
      store = await ResultsStore.open(out);
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
    }
    let existingRun: RunRecord | undefined;
    if (store) {
      checkStoreIdentity(out, store.meta, ds, shard);
      if (store.meta.taxonomy.laborForce !== laborForce) {
        throw new ParameterError(
          'out',
          `this results store's labor-force task uses the ${store.meta.taxonomy.laborForce} definition, this evaluation the ${laborForce} one; ` +
            'write to a new `out` store',
          { file: out, field: 'taxonomy.laborForce' },
        );
      }
      existingRun = await store.getRun(runName);
      if (existingRun) {
        checkRunConfig(out, existingRun, kind, config);
        // Nothing left to do: answer without loading the model (minutes for a big one).
        const p = await store.progress(runName);
        if (p.complete) {
          log(`run "${runName}" in ${out} is already complete`);
          const counts = { total: p.workersTotal, done: p.workersDone, scored: 0, transitionsTotal: p.transitionsTotal, transitionsScored: 0 };
          return result(counts, { storeCreated: false, runCreated: false, complete: true, stats: null });
        }
      }
    }

    const facts = await scorer.start(ctx);
    try {
      let storeCreated = false;
      if (!store) {
        const meta: StoreMeta = {
          format: STORE_FORMAT,
          version: STORE_VERSION,
          dataset: ds.identity,
          shards: { count: shard.count, indices: [shard.index] },
          taxonomy: { name: ds.store.taxonomy.name, size: ds.store.taxonomy.size, laborForce, notInLaborForce: [...ctx.notInLaborForce] },
          createdAt: new Date().toISOString(),
          source: { data: resolve(opts.data) },
        };
        store = await ResultsStore.create(out, meta, ds.storedWorkers);
        storeCreated = true;
        log(`created results store ${out} (${ds.storedWorkers.length} workers${shard.count > 1 ? ` in shard ${formatShard(shard)}` : ''})`);
      }
      if (!existingRun) {
        const info: JsonObject = { data: resolve(opts.data), ...facts.info };
        await store.addRun({ name: runName, kind, config, info, createdAt: new Date().toISOString() });
      }
      const session = await scoreRemaining(store, runName, ds, scorer, {
        commitMs: opts.commitIntervalMs ?? DEFAULT_COMMIT_MS,
        sessionInfo: { shard: formatShard(shard), engine: facts.session, version: packageVersion() },
        hooks,
        log,
      });
      const p = await store.progress(runName);
      return result(
        { total: ds.workers.length, done: session.alreadyDone, scored: session.scoredWorkers, transitionsTotal: p.transitionsTotal, transitionsScored: session.scoredTransitions },
        { storeCreated, runCreated: !existingRun, complete: p.complete, stats: scorer.stats() },
      );
    } finally {
      await scorer.free();
    }
  } finally {
    await store?.close();
  }
}

/**
 * Scores the workers of `ds` that `run` does not have yet, in order, committing finished workers in
 * batches (each worker with its completion mark). On an error or cancellation the finished workers are
 * committed first, then the error is rethrown.
 */
async function scoreRemaining(
  store: ResultsStore,
  run: string,
  ds: EvalDataset,
  scorer: Scorer,
  o: { commitMs: number; sessionInfo: JsonObject; hooks: EvaluateHooks; log: (m: string) => void },
): Promise<{ alreadyDone: number; scoredWorkers: number; scoredTransitions: number }> {
  const { hooks } = o;
  const done = await store.completedWorkers(run);
  const todo = ds.workers.filter((w) => !done.has(w.id));
  const transitionsTotal = ds.storedWorkers.reduce((s, w) => s + w.transitions, 0);
  let transitionsDone = ds.storedWorkers.filter((w) => done.has(w.workerId)).reduce((s, w) => s + w.transitions, 0);
  if (done.size > 0) o.log(`run "${run}": ${done.size} of ${ds.workers.length} workers already complete, resuming`);

  const session = await store.startSession(run, o.sessionInfo);
  const sessionStart = performance.now();
  let scoredWorkers = 0;
  let scoredTransitions = 0;
  let pending: WorkerResults[] = [];
  let pendingRows = 0;
  let lastCommit = performance.now();
  const commit = async (): Promise<void> => {
    if (pending.length === 0) return;
    await store.commitWorkers(run, pending);
    scoredWorkers += pending.length;
    pending = [];
    pendingRows = 0;
    lastCommit = performance.now();
  };
  const progress = (): void => {
    if (!hooks.onProgress) return;
    const elapsedMs = performance.now() - sessionStart;
    hooks.onProgress({
      run,
      workersDone: done.size + scoredWorkers + pending.length,
      workersTotal: ds.workers.length,
      transitionsDone,
      transitionsTotal,
      transitionsThisSession: scoredTransitions,
      elapsedMs,
      etaMs: scoredTransitions > 0 ? ((transitionsTotal - transitionsDone) * elapsedMs) / scoredTransitions : null,
    });
  };
  progress();
  try {
    for (const w of todo) {
      if (hooks.signal?.aborted) throw new CancelledError('evaluation cancelled');
      const all = await scorer.scoreWorker(w, hooks.signal);
      const results = ds.sample ? sampledResults(ds.sample, w, all) : all;
      pending.push({ workerId: w.id, results });
      pendingRows += results.length;
      scoredTransitions += results.length;
      transitionsDone += results.length;
      if (performance.now() - lastCommit >= o.commitMs || pendingRows >= MAX_PENDING_ROWS) {
        await commit();
        // Baselines score synchronously: let signals and timers run between batches.
        await new Promise((r) => setImmediate(r));
      }
      progress();
    }
    await commit();
  } catch (err) {
    // Whatever is complete is kept: commit the finished workers, then report the failure.
    await commit().catch(() => undefined);
    await store.finishSession(session, scoredWorkers).catch(() => undefined);
    throw err;
  }
  await store.finishSession(session, scoredWorkers);
  return { alreadyDone: done.size, scoredWorkers, scoredTransitions };
}
