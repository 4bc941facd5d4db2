/**
 * What a results store holds (tables.ts lists the tables' columns, results-store.ts reads and writes them):
 *
 * - one StoreMeta: WHICH transitions the store is about (a panel's content fingerprint, split, limit,
 *   shards), fixed when the store is created;
 * - the StoredWorkers of those shards, in evaluation order;
 * - any number of runs (an LLM, a baseline), each with a RunConfig that fixes HOW its numbers were made;
 * - per run, one StoredResult per transition, written worker by worker.
 *
 * Identities are plain JSON so they can be compared, printed and written to Parquet/JSON unchanged.
 */
import type { LaborForceDefinition } from '../metrics/binary.js';
import type { TopKEntry } from '../metrics/types.js';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export const STORE_FORMAT = 'labor-llm-results';
/**
 * 2: every record is scored, the first one included (from = null), as the paper's perplexity over
 * t = 1..T; version 1 stores held transitions only (records 1..T) and are refused, never mixed.
 */
export const STORE_VERSION = 2;

/** The evaluated transitions: equal identities mean the same workers with the same records. */
export interface DatasetIdentity {
  /** sha256 of the whole panel store's content (workers, records, splits, taxonomy entries). */
  fingerprint: string;
  taxonomy: string;
  split: string;
  /** First N workers of the split, or null for all of them. */
  limit: number | null;
  /** `eval --sample`: only a seeded random sample of the records (src/eval/sample.ts); absent otherwise. */
  sample?: { fraction: number; seed: number };
  /** Workers and scored records of the whole selection (all shards); `transitions` counts every record,
   * the first of each worker included (t = 1..T), the name kept from version 1. With `sample`, the
   * sampled records only. */
  workers: number;
  transitions: number;
}

/** Which of the n shards a store covers (an unsharded store: count 1, indices [0]). */
export interface ShardCoverage {
  count: number;
  indices: number[];
}

/** The taxonomy facts a report needs without loading the panel. */
export interface StoredTaxonomyInfo {
  name: string;
  size: number;
  /** The labor-force task's definition (official: the unemployed are in the labor force) and the codes
   * outside the labor force under it; may be empty. */
  laborForce: LaborForceDefinition;
  notInLaborForce: string[];
}

export interface StoreMeta {
  format: typeof STORE_FORMAT;
  version: typeof STORE_VERSION;
  dataset: DatasetIdentity;
  shards: ShardCoverage;
  taxonomy: StoredTaxonomyInfo;
  createdAt: string;
  /** Informational (never compared): where the panel was read from, the taxonomy's size... */
  source: JsonObject;
}

/** One evaluated worker (the store's unit of work and of the bootstrap). */
export interface StoredWorker {
  workerId: string;
  /** Position in the whole selection (all shards): results are read back in this order. */
  ord: number;
  dataset: string;
  gender: string;
  ethnicity: string;
  region: string;
  birthYear: number | null;
  shard: number;
  /** Scored records of the worker (all of them, the first included). */
  transitions: number;
}

/** model: an LLM; baseline: a fitted baseline; imported: an outside model's log-probs (eval --import-scores). */
export const RUN_KINDS = ['model', 'baseline', 'imported'] as const;
export type RunKind = (typeof RUN_KINDS)[number];

/** A run: its name in the store, the configuration that must match to append to it, and free-form info. */
export interface RunRecord {
  name: string;
  kind: RunKind;
  /** Compared on every append and merge (canonical JSON). */
  config: JsonObject;
  /** Not compared: model path, fit report, first host... */
  info: JsonObject;
  createdAt: string;
}

/**
 * One transition's result as stored. Distribution-mode runs and baselines fill every field; perplexity
 * mode only has rawLogProb (the others are null).
 */
export interface StoredResult {
  workerId: string;
  index: number;
  dataset: string;
  year: number;
  /** The previous record's code; null for the first record. */
  from: string | null;
  to: string;
  logProb: number | null;
  rawLogProb: number | null;
  validMass: number | null;
  rank: number | null;
  ties: number | null;
  topK: TopKEntry[] | null;
  pSame: number | null;
  pLaborForce: number | null;
}

/** One worker's results, committed atomically together with its completion mark. */
export interface WorkerResults {
  workerId: string;
  results: StoredResult[];
}

/** How far a run has got. */
export interface RunProgress {
  run: string;
  workersDone: number;
  workersTotal: number;
  transitionsDone: number;
  transitionsTotal: number;
  complete: boolean;
}

/** One invocation that wrote to a run (informational log). */
export interface SessionRecord {
  run: string;
  startedAt: string;
  finishedAt: string | null;
  workersScored: number;
  info: JsonObject;
}
