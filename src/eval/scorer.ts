/**
 * The Scorer: anything that gives each record of a worker a probability, as evaluate() sees it.
 *
 * evaluate() owns the data, the results store, resuming and sharding; a Scorer owns how the numbers
 * are made. An LLM (ModelScorer), each baseline (BaselineScorer) and a user's own model are
 * implementations, so a new one plugs in without touching evaluate(). Its life in one evaluation:
 *
 *   1. identify(ctx): cheap checks and the run's identity (kind and configuration), before the store
 *      is opened and before anything expensive is loaded: a complete run is answered without loading
 *      a model, and a resumed run must have the same identity;
 *   2. start(ctx): load the model or fit the baseline; called only when workers remain to be scored;
 *   3. scoreWorker(worker) for every worker not yet in the store, in order;
 *   4. free(): always called after start(), also on errors.
 */
import type { Worker } from '../data/panel/types.js';
import type { JsonObject, RunKind, StoredResult } from '../results/types.js';
import type { EvalDataset } from './dataset.js';
import type { ScoringStats } from './llm.js';

/** What a scorer may know of the evaluation it serves. */
export interface ScorerContext {
  /** The panel store (taxonomy), the evaluated workers, the training and validation splits. */
  dataset: EvalDataset;
  /** Codes kept per record with their probabilities. */
  topK: number;
  /** Codes outside the labor force, for the binary tasks. */
  notInLaborForce: readonly string[];
  /** Human-readable notes (a fit report). */
  log: (message: string) => void;
}

/** A run's identity: two sessions write to the same run only if both are equal. */
export interface RunIdentity {
  kind: RunKind;
  /** Compared on every resume and merge (canonical JSON). */
  config: JsonObject;
}

/** Facts a started scorer records (never compared). */
export interface ScorerFacts {
  /** Stored with a new run (model description and path, fit report). */
  info: JsonObject;
  /** Stored with each session (engine settings that change speed, not numbers). */
  session: JsonObject;
}

/**
 * The stored result of record `index` of `worker` when only its raw log-prob is known (perplexity mode,
 * imported scores): every other field null; a scorer that knows more spreads it over this.
 */
export function rawResult(worker: Worker, index: number, rawLogProb: number): StoredResult {
  const rec = worker.records[index]!;
  return {
    workerId: worker.id,
    index,
    dataset: worker.dataset,
    year: rec.year,
    from: index > 0 ? worker.records[index - 1]!.code : null,
    to: rec.code,
    logProb: null,
    rawLogProb,
    validMass: null,
    rank: null,
    ties: null,
    topK: null,
    pSame: null,
    pLaborForce: null,
  };
}

export interface Scorer {
  /** The run's name when the caller gives none. */
  readonly defaultRunName: string;
  /** Checks what can be checked without loading anything, and says the run's identity. */
  identify(ctx: ScorerContext): Promise<RunIdentity>;
  /** Loads or fits what scoring needs. */
  start(ctx: ScorerContext): Promise<ScorerFacts>;
  /** One result per scored record of the worker, in record order. */
  scoreWorker(worker: Worker, signal?: AbortSignal): Promise<StoredResult[]>;
  /** Engine token counts of this session (LLMs), or null. */
  stats(): ScoringStats | null;
  /** Releases what start() loaded; safe to call more than once. */
  free(): Promise<void>;
}
