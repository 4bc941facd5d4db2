/**
 * The report's data model: everything the tables show, as plain JSON-able data. `labor-llm report
 * --format json` prints it as is; the Markdown renderer (and a later HTML one) only format it.
 *
 * Rows are runs (an LLM evaluated with a template and mode, or a baseline), columns are datasets (the
 * workers' `dataset` field: PSID81, NLSY79, ...) plus "All" when there are several.
 */
import type { LaborForceDefinition } from '../metrics/binary.js';
import type { BinaryTaskName, BootstrapEstimate, CalibrationBin, LogProbVariant, PerplexityEstimate } from '../metrics/index.js';
import type { DatasetIdentity, JsonObject, RunKind, ShardCoverage } from '../results/types.js';

export const REPORT_FORMAT = 'labor-llm-report';
export const REPORT_VERSION = 1;
/** Column label of the pooled transitions of every dataset. */
export const ALL_DATASETS = 'All';

export interface ReportOptions {
  /** Bootstrap draws (default 1000). */
  B?: number;
  /** Bootstrap seed (default 0). */
  seed?: number;
  /** Confidence level of the percentile intervals (default 0.95). */
  level?: number;
  /** Log-probs of the leading perplexity and the differences (default raw: the product of the title's
   * token probabilities, the paper's perplexity); the other variant is reported beside it. */
  variant?: LogProbVariant;
  /** Run the differences are taken against (default: the first baseline run, else the first run). */
  reference?: string;
  /** Only these runs, in this order (default: every run of every store, in store order). */
  runs?: readonly string[];
  /** Report runs that do not cover their store's workers (differences use the common transitions). */
  allowPartial?: boolean;
  /** Calibration bins of the binary tasks (default 10). */
  bins?: number;
  /** Only records 2..T of each worker (the transitions), leaving out the first record (default false:
   * every record, t = 1..T, as the paper's perplexity). */
  transitionsOnly?: boolean;
}

export interface ReportStore {
  path: string;
  dataset: DatasetIdentity;
  shards: ShardCoverage;
  runs: string[];
}

export interface ReportRun {
  name: string;
  kind: RunKind;
  /** Stores the run's results come from. */
  stores: string[];
  /** Template and mode of an LLM run (null for baselines). */
  template: string | null;
  mode: string | null;
  /** Model file or baseline name. */
  scorer: string;
  config: JsonObject;
  workers: number;
  workersTotal: number;
  transitions: number;
  complete: boolean;
  /** Whether the run stored the full distribution (ranks, top-k, binary tasks, normalized log-probs). */
  hasDistribution: boolean;
  /** Mean probability mass the model put on the valid titles (LLM distribution runs), else null. */
  meanValidMass: number | null;
}

export interface PerplexityCell {
  run: string;
  dataset: string;
  /** Which log-probs `perplexity` uses (the report's variant: raw by default). */
  variant: LogProbVariant;
  /** The leading perplexity: `raw` or `normalized` below, as `variant` says. */
  perplexity: PerplexityEstimate;
  /** From the raw title log-probs (the product of the title's token probabilities: the paper's). */
  raw: PerplexityEstimate;
  /** From the log-probs normalized over the titles; null for runs that stored raw log-probs only. */
  normalized: PerplexityEstimate | null;
}

export interface DifferenceCell {
  run: string;
  reference: string;
  dataset: string;
  /** perplexity(reference) - perplexity(run), bootstrap on the same draws: the paper's "baseline -
   * model" when the reference is a baseline; positive means the run beats the reference. */
  difference: BootstrapEstimate;
  /** log perplexity(reference) - log perplexity(run). */
  logDifference: BootstrapEstimate;
  /** Transitions both were scored on. */
  transitions: number;
  workers: number;
}

export interface AccuracyCell {
  run: string;
  dataset: string;
  transitions: number;
  top1: number;
  top5: number;
}

export interface BinaryCell {
  run: string;
  dataset: string;
  task: BinaryTaskName;
  /** Which transitions the task covers ("previousInLaborForce": staying in the labor force). */
  among: 'all' | 'previousInLaborForce';
  /** The labor-force task's definition (official: the unemployed are in the labor force); null for other tasks. */
  laborForce: LaborForceDefinition | null;
  n: number;
  rate: number;
  logLoss: number;
  brier: number;
  auc: number;
  ece: number;
  calibration: CalibrationBin[];
}

export interface Report {
  format: typeof REPORT_FORMAT;
  version: typeof REPORT_VERSION;
  options: {
    B: number;
    seed: number;
    level: number;
    variant: LogProbVariant;
    reference: string | null;
    allowPartial: boolean;
    /** Records 2..T only (true) or every record 1..T (false). */
    transitionsOnly: boolean;
  };
  stores: ReportStore[];
  runs: ReportRun[];
  /** Column order. */
  datasets: string[];
  perplexity: PerplexityCell[];
  differences: DifferenceCell[];
  accuracy: AccuracyCell[];
  binary: BinaryCell[];
  /** Why a cell is missing, which runs were left out of a table... */
  notes: string[];
}
