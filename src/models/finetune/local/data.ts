/**
 * Training data for local fine-tuning: a panel's train / valid / test workers (from a panel store, or a
 * synthetic panel made on the spot) and the template texts made of them.
 */
import { InputError } from '../../../errors.js';
import { readPanelDir } from '../../../data/io/index.js';
import type { Worker } from '../../../data/panel/types.js';
import { splitPanel, type SplitName } from '../../../data/split/index.js';
import { synthesizePanel } from '../../../data/synth/index.js';
import { loadTaxonomy, type Taxonomy } from '../../../data/taxonomy/taxonomy.js';
import type { Template } from '../../../data/template/index.js';

export interface PanelSplits {
  taxonomy: Taxonomy;
  train: Worker[];
  valid: Worker[];
  test: Worker[];
  /** Workers of a panel store that have no split (left out). */
  unassigned: number;
}

/** The workers of a panel store by their stored split. */
export async function panelSplitsFromDir(dir: string): Promise<PanelSplits> {
  const store = await readPanelDir(dir);
  const out: Record<SplitName, Worker[]> = { train: [], valid: [], test: [] };
  let unassigned = 0;
  for (const w of store.panel.workers) {
    const s = store.splits.get(w.id);
    if (s === undefined) unassigned++;
    else out[s].push(w);
  }
  return { taxonomy: store.taxonomy, ...out, unassigned };
}

export interface SynthSplitOptions {
  profile: string;
  workers: number;
  seed: number;
  /** Seed of the 70/10/20 worker split (default: seed). */
  splitSeed?: number;
  taxonomy?: string;
}

/** A synthetic panel (as `data synth` makes it) split 70/10/20 by worker. */
export function panelSplitsFromSynth(opts: SynthSplitOptions): PanelSplits {
  const taxonomy = loadTaxonomy(opts.taxonomy ?? 'occ1990dd');
  const { panel } = synthesizePanel({ profile: opts.profile, workers: opts.workers, seed: opts.seed, taxonomy });
  const parts = splitPanel(panel, { seed: opts.splitSeed ?? opts.seed });
  return { taxonomy, train: parts.train.workers, valid: parts.valid.workers, test: parts.test.workers, unassigned: 0 };
}

/** Each worker's whole text under the template (what fine-tuning on resumes trains on). */
export function templateTexts(workers: readonly Worker[], template: Template): string[] {
  return workers.map((w) => template.render(w).text);
}

/** Training and validation texts of a split panel; an empty part is an InputError naming its source. */
export function finetuneTexts(
  splits: PanelSplits,
  template: Template,
  opts: { source: string; maxTrain?: number; maxValid?: number },
): { trainTexts: string[]; validTexts: string[] } {
  const pick = (workers: Worker[], max: number | undefined): Worker[] => (max === undefined ? workers : workers.slice(0, max));
  const train = pick(splits.train, opts.maxTrain);
  const valid = pick(splits.valid, opts.maxValid);
  if (train.length === 0) throw new InputError(`${opts.source} has no workers in the train split: nothing to train on`);
  if (valid.length === 0) throw new InputError(`${opts.source} has no workers in the valid split: the best epoch is chosen by validation loss`);
  return { trainTexts: templateTexts(train, template), validTexts: templateTexts(valid, template) };
}
