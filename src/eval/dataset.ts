/**
 * Which workers an evaluation scores: the panel store's workers of one split (in panel order), the
 * first `limit` of them, with `sample` only the records of a seeded random sample of their records
 * (sample.ts; workers without a sampled record are left out), and of those the ones in this shard. The
 * selection before sharding defines the evaluation (DatasetIdentity); sharding only decides which part
 * of it one process does.
 */
import { InputError, ParameterError } from '../errors.js';
import { type PanelStore, readPanelDir, SPLIT_NAMES, type SplitName } from '../data/io/index.js';
import type { Panel, Worker } from '../data/panel/types.js';
import type { DatasetIdentity, StoredWorker } from '../results/types.js';
import { panelFingerprint } from './fingerprint.js';
import { type RecordSample, sampleRecords, type SampleSpec } from './sample.js';
import { shardOfWorker, type ShardSpec } from './shard.js';

export interface EvalDataset {
  dir: string;
  store: PanelStore;
  split: SplitName;
  identity: DatasetIdentity;
  /** Every selected worker (all shards), in evaluation order. */
  selection: Worker[];
  /** The selected workers of this shard, in evaluation order. */
  workers: Worker[];
  /** The stored form of this shard's workers (ord = position in `selection`). */
  storedWorkers: StoredWorker[];
  /** With --sample: the records scored; evaluate() keeps only their rows. */
  sample: RecordSample | null;
  /** Training and validation panels (baselines fit on them, `icl` draws examples from train). */
  train: Panel;
  valid: Panel;
}

export interface SelectOptions {
  split?: SplitName;
  shard: ShardSpec;
  limit?: number | undefined;
  /** Score only a seeded random sample of the records (sample.ts). */
  sample?: SampleSpec | undefined;
}

function splitPanel(store: PanelStore, split: SplitName): Panel {
  return { taxonomy: store.panel.taxonomy, workers: store.panel.workers.filter((w) => store.splits.get(w.id) === split) };
}

/** Reads a panel store and selects the evaluated workers; errors name the folder and what is missing. */
export async function loadEvalDataset(dir: string, opts: SelectOptions): Promise<EvalDataset> {
  const split = opts.split ?? 'test';
  if (!(SPLIT_NAMES as readonly string[]).includes(split)) {
    throw new ParameterError('split', `\`split\` must be one of ${SPLIT_NAMES.join(', ')}, got "${split}"`);
  }
  if (opts.limit !== undefined && (!Number.isInteger(opts.limit) || opts.limit < 1)) {
    throw new ParameterError('limit', `\`limit\` must be a positive integer, got ${opts.limit}`);
  }
  const store = await readPanelDir(dir);
  return selectWorkers(dir, store, { ...opts, split });
}

export function selectWorkers(dir: string, store: PanelStore, opts: SelectOptions & { split: SplitName }): EvalDataset {
  const { split } = opts;
  const all = splitPanel(store, split).workers;
  if (all.length === 0) {
    const counts = SPLIT_NAMES.map((s) => `${s} ${store.panel.workers.filter((w) => store.splits.get(w.id) === s).length}`).join(', ');
    throw new InputError(
      `the panel has no ${split} split (${counts}, ${store.panel.workers.length} workers in all); assign splits with "labor-llm data split ${dir} --write"`,
      { file: dir, field: 'split' },
    );
  }
  const limited = opts.limit !== undefined ? all.slice(0, opts.limit) : all;
  // Every record is scored, the first one included (the paper's t = 1..T).
  const transitions = (w: Worker): number => w.records.length;
  const sample = opts.sample === undefined ? null : sampleRecords(limited, opts.sample);
  // With a sample, a worker's records in it.
  const scored = (w: Worker): number => (sample ? w.records.reduce((n, _, i) => n + (sample.has(w, i) ? 1 : 0), 0) : transitions(w));
  const selection = sample ? limited.filter((w) => scored(w) > 0) : limited;
  const identity: DatasetIdentity = {
    fingerprint: panelFingerprint(store),
    taxonomy: store.taxonomy.name,
    split,
    limit: opts.limit ?? null,
    ...(sample ? { sample: { fraction: sample.fraction, seed: sample.seed } } : {}),
    workers: selection.length,
    transitions: selection.reduce((s, w) => s + scored(w), 0),
  };
  const storedWorkers: StoredWorker[] = [];
  const workers: Worker[] = [];
  selection.forEach((w, ord) => {
    const shard = shardOfWorker(w.id, opts.shard.count);
    if (shard !== opts.shard.index) return;
    workers.push(w);
    storedWorkers.push({
      workerId: w.id,
      ord,
      dataset: w.dataset,
      gender: w.gender,
      ethnicity: w.ethnicity,
      region: w.region,
      birthYear: w.birthYear,
      shard,
      transitions: scored(w),
    });
  });
  return {
    dir,
    store,
    split,
    identity,
    selection,
    workers,
    storedWorkers,
    sample,
    train: splitPanel(store, 'train'),
    valid: splitPanel(store, 'valid'),
  };
}
