/**
 * Building the HTML view from metric outputs and stored results: thin conversions, no new statistics.
 * Perplexities come from the worker-level bootstrap (metrics/bootstrap.ts), calibration points from the
 * binary-task reliability bins (metrics/binary.ts), sample workers from the panel and the stored top-k.
 */
import type { BinaryTaskReport, CalibrationBin } from '../../metrics/binary.js';
import type { PerplexityEstimate } from '../../metrics/bootstrap.js';
import type { TopKEntry } from '../../metrics/types.js';
import type { Worker } from '../../data/panel/types.js';
import type { Taxonomy } from '../../data/taxonomy/taxonomy.js';
import type { BinaryTask, CalibrationPoint, PerplexityPoint, SampleWorker } from './types.js';

export function perplexityPoint(model: string, dataset: string, est: PerplexityEstimate): PerplexityPoint {
  return {
    model,
    dataset,
    perplexity: est.estimate,
    se: est.se,
    logSe: est.logPerplexity.se,
    transitions: est.transitions,
    workers: est.workers,
  };
}

/** The non-empty bins of a reliability diagram as plot points. */
export function calibrationPoints(
  model: string,
  dataset: string,
  task: BinaryTask,
  bins: readonly CalibrationBin[],
): CalibrationPoint[] {
  return bins
    .filter((b) => b.count > 0 && b.meanPredicted !== null && b.observedRate !== null)
    .map((b) => ({ model, dataset, task, predicted: b.meanPredicted!, observed: b.observedRate!, count: b.count }));
}

/** Calibration points of a binary-task report, from its equal-count bins (every bin has data). */
export function calibrationPointsOfReport(model: string, dataset: string, report: BinaryTaskReport): CalibrationPoint[] {
  return calibrationPoints(model, dataset, report.task, report.calibration.equalCount);
}

export interface SampleOptions {
  /** Number of workers to show (default 3). */
  count?: number;
  /** Titles per model (default 8). */
  topK?: number;
  /** Workers need at least this many records to be chosen (default 3). */
  minRecords?: number;
}

/** What a sample needs of a stored result (TransitionResult and StoredResult both qualify). */
export interface PredictionRecord {
  workerId: string;
  index: number;
  rank: number | null;
  topK: readonly TopKEntry[] | null;
}

/** Describes a worker's fixed traits in one line. */
export function describeTraits(w: Worker): string {
  const parts = [w.gender, w.ethnicity, w.region ? `${w.region} region` : ''].filter((s) => s && s !== 'unknown');
  if (w.birthYear !== null) parts.push(`born ${w.birthYear}`);
  return parts.join(', ');
}

/**
 * A few workers spread over the evaluated list (deterministic: every n/count-th worker with enough
 * records), each with the prediction of its last record by every run that stored top-k titles for it.
 */
export function sampleWorkers(
  workers: readonly Worker[],
  taxonomy: Taxonomy,
  runs: readonly { name: string; results: readonly PredictionRecord[] }[],
  opts: SampleOptions = {},
): SampleWorker[] {
  const count = opts.count ?? 3;
  const k = opts.topK ?? 8;
  const minRecords = opts.minRecords ?? 3;
  const byRun = runs.map((r) => ({
    name: r.name,
    byKey: new Map(r.results.filter((x) => x.topK !== null && x.topK.length > 0 && x.rank !== null).map((x) => [`${x.workerId}\u0000${x.index}`, x] as const)),
  }));
  const last = (w: Worker) => w.records.length - 1;
  const eligible = workers.filter(
    (w) => w.records.length >= minRecords && byRun.some((r) => r.byKey.has(`${w.id}\u0000${last(w)}`)),
  );
  if (eligible.length === 0 || count <= 0) return [];
  const picked: Worker[] = [];
  const step = eligible.length / Math.min(count, eligible.length);
  for (let i = 0; i < Math.min(count, eligible.length); i++) picked.push(eligible[Math.floor(i * step)]!);
  const titleOf = (code: string) => (taxonomy.has(code) ? taxonomy.titleOf(code) : code);
  return picked.map((w) => {
    const index = last(w);
    const target = w.records[index]!;
    return {
      workerId: w.id,
      dataset: w.dataset,
      traits: describeTraits(w),
      history: w.records.map((r) => ({ year: r.year, education: r.education, code: r.code, title: titleOf(r.code) })),
      predictions: byRun.flatMap((r) => {
        const x = r.byKey.get(`${w.id}\u0000${index}`);
        if (!x) return [];
        return [
          {
            model: r.name,
            index,
            year: target.year,
            trueCode: target.code,
            trueTitle: titleOf(target.code),
            rank: x.rank!,
            topK: x.topK!.slice(0, k).map((t) => ({ code: t.code, title: titleOf(t.code), prob: t.prob })),
          },
        ];
      }),
    };
  });
}
