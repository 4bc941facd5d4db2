/**
 * What the importers return and the exporters take: a validated Panel plus the split membership of
 * each worker (train/valid/test), which CAREER's files and the long table's optional `split`
 * column carry and the panel store keeps.
 */
import type { Panel, Worker } from '../panel/types.js';
import { validatePanelReport, type UnknownCodePolicy, type ValidateOptions } from '../panel/validate.js';
import type { Taxonomy } from '../taxonomy/taxonomy.js';
import {
  checkFractions,
  DEFAULT_FRACTIONS,
  SPLIT_NAMES,
  type SplitFractions,
  type SplitName,
  splitOf,
} from '../split/split.js';

export { SPLIT_NAMES, type SplitName };

export function isSplitName(value: string): value is SplitName {
  return (SPLIT_NAMES as readonly string[]).includes(value);
}

/** Worker id -> split. A worker absent from the map has no split yet. */
export type SplitMembership = Map<string, SplitName>;

export interface ImportReport {
  /** Every file read, in the order read. */
  files: string[];
  workers: number;
  records: number;
  /** Unknown codes mapped to the `unknownCode` target, with record counts (empty unless mapping). */
  mappedCodes: Record<string, number>;
  /** Education spellings rewritten to EDUCATION_LEVELS ("bachelors -> college"), with record counts. */
  normalizedEducation: Record<string, number>;
}

export interface ImportedPanel {
  panel: Panel;
  /** Split of each worker the source names; empty when the source has no splits. */
  splits: SplitMembership;
  report: ImportReport;
}

/** Counts of workers per split (workers without a split are not counted). */
export function splitCounts(panel: Panel, splits: SplitMembership): Record<SplitName, number> {
  const counts: Record<SplitName, number> = { train: 0, valid: 0, test: 0 };
  for (const w of panel.workers) {
    const s = splits.get(w.id);
    if (s !== undefined) counts[s]++;
  }
  return counts;
}

/**
 * The last step of every importer: the workers read are validated against the taxonomy (`source`
 * locates a fault in the files read, so the error names file, line and field), and what was read is
 * reported.
 */
export function validatedImport(
  workers: Worker[],
  opts: { taxonomy: Taxonomy; unknownCode?: UnknownCodePolicy },
  read: { files: string[]; splits: SplitMembership; source: ValidateOptions['source'] },
): ImportedPanel {
  const { panel, mappedCodes, normalizedEducation } = validatePanelReport(
    { taxonomy: opts.taxonomy.name, workers },
    opts.taxonomy,
    { unknownCode: opts.unknownCode, source: read.source },
  );
  return {
    panel,
    splits: read.splits,
    report: { files: read.files, workers: panel.workers.length, records: recordCount(panel), mappedCodes, normalizedEducation },
  };
}

export function recordCount(panel: Panel): number {
  let n = 0;
  for (const w of panel.workers) n += w.records.length;
  return n;
}

/**
 * Split membership for every worker: existing assignments are kept (so a worker keeps its split when
 * others are added) and workers without one get splitOf(id, seed, fractions); with `reassign`, every
 * worker is assigned afresh from the seed.
 */
export function completeSplits(
  panel: Panel,
  existing: SplitMembership,
  opts: { seed: number; fractions?: SplitFractions; reassign?: boolean },
): { splits: SplitMembership; assigned: number } {
  const fractions = opts.fractions ?? DEFAULT_FRACTIONS;
  checkFractions(fractions);
  const splits: SplitMembership = new Map();
  let assigned = 0;
  for (const w of panel.workers) {
    const known = opts.reassign ? undefined : existing.get(w.id);
    if (known !== undefined) splits.set(w.id, known);
    else {
      splits.set(w.id, splitOf(w.id, opts.seed, fractions));
      assigned++;
    }
  }
  return { splits, assigned };
}
