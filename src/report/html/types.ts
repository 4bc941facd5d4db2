/**
 * What the HTML report shows, in display-ready form. It is built from the report data model (perplexities,
 * binary tasks, paper tables) and the results store (sample workers' top-k predictions); the renderer only
 * lays it out and never computes a metric.
 */
import type { ReportTable } from '../table.js';

export type { ReportTable, TableCell, TableColumn } from '../table.js';

/** One model's test perplexity on one dataset, with its worker-level bootstrap standard error. */
export interface PerplexityPoint {
  model: string;
  dataset: string;
  perplexity: number;
  /** Bootstrap SE of the perplexity (null when not bootstrapped). */
  se: number | null;
  /**
   * Bootstrap SE of the log perplexity (cross-entropy, nats). When given, the error bar is
   * exp(log perplexity ± 1.96 SE): symmetric on the plot's log axis and never below 1, which matters
   * for heavy-tailed models whose perplexity SE exceeds the perplexity itself.
   */
  logSe?: number | null;
  transitions: number;
  workers?: number;
}

export type BinaryTask = 'sameOccupation' | 'laborForce';

export const BINARY_TASK_LABELS: Record<BinaryTask, string> = {
  sameOccupation: 'Stays in the same occupation',
  laborForce: 'Stays in the labor force',
};

/** One non-empty reliability bin of a model's predicted event probabilities. */
export interface CalibrationPoint {
  model: string;
  dataset: string;
  task: BinaryTask;
  /** Mean predicted probability of the transitions in the bin. */
  predicted: number;
  /** Observed event rate in the bin. */
  observed: number;
  count: number;
}

export interface SampleRecord {
  year: number;
  education: string;
  code: string;
  title: string;
}

export interface SamplePrediction {
  model: string;
  /** Index of the predicted record in the worker's history (>= 1). */
  index: number;
  year: number;
  trueCode: string;
  trueTitle: string;
  /** 1-based rank of the observed title under the model. */
  rank: number;
  /** The model's most probable next titles, best first (normalized probabilities). */
  topK: { code: string; title: string; prob: number }[];
}

export interface SampleWorker {
  workerId: string;
  dataset: string;
  /** One-line description of the fixed traits (gender, ethnicity, region, birth year). */
  traits: string;
  history: SampleRecord[];
  /** Predictions for one transition of the history (usually the last), one per model. */
  predictions: SamplePrediction[];
}

export interface HtmlReportView {
  title: string;
  /** Short paragraphs under the title (what was run, on what). */
  intro?: string[];
  /** Label/value pairs of the run (panel, template, seed, date...). */
  facts?: { label: string; value: string }[];
  perplexity: PerplexityPoint[];
  calibration: CalibrationPoint[];
  samples: SampleWorker[];
  tables: ReportTable[];
  generatedAt?: string;
}
