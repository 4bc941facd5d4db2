/**
 * Perplexity (with worker-level bootstrap SE) per subgroup of transitions: dataset, gender, age band,
 * number of past jobs, or any labelling function.
 *
 * Definitions:
 * - age = year of the predicted record - birth year; bands cut at `ageEdges` (default 25, 35, 45, 55):
 *   "<25", "25-34", "35-44", "45-54", "55+"; "unknown" without a birth year.
 * - past jobs = number of jobs held before the predicted record: maximal runs of one occupation code among
 *   records 0..index-1, not counting the non-working states (in education, unemployed, not in labor force);
 *   a return to an earlier occupation after a different one counts as a new job. Bucketed 0, 1, ..., cap-1,
 *   "cap+" (default cap 5).
 * Each group is bootstrapped over its own workers, with the same seed for every group. A worker whose
 * transitions fall into several groups (age bands, past jobs) is resampled separately within each.
 */

import { InputError } from '../errors.js';
import type { Panel, Worker } from '../data/panel/types.js';
import { OCC1990DD_NOT_WORKING } from './binary.js';
import { bootstrapPerplexity, type BootstrapOptions, type PerplexityEstimate } from './bootstrap.js';
import type { TransitionResult } from './types.js';

export type SubgroupDimension = 'dataset' | 'gender' | 'ageBand' | 'pastJobs';

export interface SubgroupRow extends PerplexityEstimate {
  group: string;
}

/** Labels a result with its group, or null to leave it out. */
export type GroupOf = (r: TransitionResult) => string | null;

/**
 * One row per group (sorted by `order` if given, else by label with numeric-aware comparison).
 * Groups with fewer than 2 workers still get a row; their SE is 0 (every draw repeats the one worker).
 */
export function perplexityBySubgroup(
  results: readonly TransitionResult[],
  groupOf: GroupOf,
  opts: BootstrapOptions & { order?: readonly string[] } = {},
): SubgroupRow[] {
  const groups = new Map<string, TransitionResult[]>();
  for (const r of results) {
    const g = groupOf(r);
    if (g === null) continue;
    let list = groups.get(g);
    if (!list) groups.set(g, (list = []));
    list.push(r);
  }
  const labels = [...groups.keys()];
  if (opts.order) {
    const pos = new Map(opts.order.map((g, i) => [g, i] as const));
    labels.sort((a, b) => (pos.get(a) ?? Infinity) - (pos.get(b) ?? Infinity) || a.localeCompare(b, 'en', { numeric: true }));
  } else {
    labels.sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  }
  return labels.map((group) => ({ group, ...bootstrapPerplexity(groups.get(group)!, opts) }));
}

export function ageBandLabels(edges: readonly number[]): string[] {
  const labels = [`<${edges[0]}`];
  for (let i = 0; i + 1 < edges.length; i++) labels.push(`${edges[i]}-${edges[i + 1]! - 1}`);
  labels.push(`${edges[edges.length - 1]}+`);
  return labels;
}

export function ageBand(age: number, edges: readonly number[]): string {
  const labels = ageBandLabels(edges);
  let j = 0;
  while (j < edges.length && age >= edges[j]!) j++;
  return labels[j]!;
}

/** Number of jobs (runs of one occupation, non-working states excluded) in records[0..index-1]. */
export function pastJobs(worker: Worker, index: number, notWorking: readonly string[] = OCC1990DD_NOT_WORKING): number {
  let jobs = 0;
  let last: string | null = null;
  for (let i = 0; i < index && i < worker.records.length; i++) {
    const code = worker.records[i]!.code;
    if (notWorking.includes(code)) {
      last = null; // a spell out of work ends the job; returning to it starts a new one
      continue;
    }
    if (code !== last) jobs++;
    last = code;
  }
  return jobs;
}

export interface SubgroupKeyOptions {
  /** Age band edges (default [25, 35, 45, 55]). */
  ageEdges?: readonly number[];
  /** Past jobs at or above this are one bucket "cap+" (default 5). */
  pastJobsCap?: number;
  notInLaborForce?: readonly string[];
}

/** The labelling function and the display order of a standard subgroup dimension, given the panel(s) scored. */
export function subgroupKey(
  panel: Panel | readonly Panel[],
  dimension: SubgroupDimension,
  opts: SubgroupKeyOptions = {},
): { groupOf: GroupOf; order?: string[] } {
  const panels = Array.isArray(panel) ? (panel as readonly Panel[]) : [panel as Panel];
  const byId = new Map<string, Worker>();
  for (const p of panels) for (const w of p.workers) byId.set(w.id, w);
  const worker = (r: TransitionResult): Worker => {
    const w = byId.get(r.workerId);
    if (!w) throw new InputError(`result for worker "${r.workerId}" but the panel has no such worker`);
    return w;
  };
  switch (dimension) {
    case 'dataset':
      return { groupOf: (r) => String(worker(r).dataset) };
    case 'gender':
      return { groupOf: (r) => worker(r).gender || 'unknown' };
    case 'ageBand': {
      const edges = opts.ageEdges ?? [25, 35, 45, 55];
      if (edges.length === 0 || edges.some((e, i) => i > 0 && e <= edges[i - 1]!)) {
        throw new InputError(`age edges must be a non-empty increasing list, got [${edges.join(', ')}]`);
      }
      return {
        groupOf: (r) => {
          const w = worker(r);
          return w.birthYear === null ? 'unknown' : ageBand(r.year - w.birthYear, edges);
        },
        order: [...ageBandLabels(edges), 'unknown'],
      };
    }
    case 'pastJobs': {
      const cap = opts.pastJobsCap ?? 5;
      if (!Number.isInteger(cap) || cap < 1) throw new InputError(`pastJobsCap must be an integer >= 1, got ${cap}`);
      const order = [...Array.from({ length: cap }, (_, i) => String(i)), `${cap}+`];
      return {
        groupOf: (r) => {
          const j = pastJobs(worker(r), r.index, opts.notInLaborForce);
          return j >= cap ? `${cap}+` : String(j);
        },
        order,
      };
    }
  }
}

/** Convenience: the subgroup table for a standard dimension. */
export function subgroupTable(
  results: readonly TransitionResult[],
  panel: Panel | readonly Panel[],
  dimension: SubgroupDimension,
  opts: BootstrapOptions & SubgroupKeyOptions = {},
): SubgroupRow[] {
  const { groupOf, order } = subgroupKey(panel, dimension, opts);
  return perplexityBySubgroup(results, groupOf, order ? { ...opts, order } : opts);
}
