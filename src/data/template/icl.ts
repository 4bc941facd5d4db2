/**
 * In-context learning as in the paper (templates `icl` and `icl-titles`; talk lines 218-243): k example
 * workers from the training split (k = 10 by default, as in the paper), each written in the off-the-shelf
 * format (off-the-shelf.ts), then the worker's own off-the-shelf text; texts are separated by one blank
 * line. `icl-titles` puts the list of job titles once, above the first example:
 *
 *   [title list and a blank line: icl-titles only]
 *   <example 1's off-the-shelf text>\n
 *   ...
 *   <example k's off-the-shelf text>\n
 *   <the worker's off-the-shelf text>
 *
 * The talk says only that example data from other workers is included; the order, the blank line
 * between texts and the list placed once at the top are ours.
 *
 * The examples for a worker are drawn from the pool with a generator seeded by (seed, worker id), never
 * include the worker itself (same id and dataset) and, by default, come from the worker's own dataset
 * (the whole pool when that dataset has no other worker). So a worker's examples do not depend on the
 * other workers being rendered, and every prompt of the worker shares the same examples.
 */
import { InputError } from '../../errors.js';
import type { Worker } from '../panel/types.js';
import { hash32, Prng } from '../synth/prng.js';
import type { Taxonomy } from '../taxonomy/taxonomy.js';
import { OffTheShelfTemplate, titleListBlock } from './off-the-shelf.js';
import { allPrompts } from './text-builder.js';
import type { PredictionPrompt, RenderedWorker, Template, TemplateName } from './types.js';

/** Appended to each example's text (which ends with its last record's line): one blank line. */
export const ICL_SEPARATOR = '\n';

/** The paper's number of example workers. */
export const ICL_DEFAULT_K = 10;

export interface IclOptions {
  /** Workers to draw examples from (the training split). */
  pool: readonly Worker[];
  /** Number of example workers (default ICL_DEFAULT_K = 10). */
  k?: number;
  /** Seed of the draw (default 0). */
  seed?: number;
  /** Draw examples only from the worker's dataset when it has any (default true). */
  sameDataset?: boolean;
}

export class IclTemplate implements Template {
  readonly name: TemplateName;
  readonly description: string;
  private readonly base: OffTheShelfTemplate;
  private readonly titleList: string;
  private readonly pool: readonly Worker[];
  private readonly k: number;
  private readonly seed: number;
  private readonly byDataset = new Map<string, Worker[]>();
  private readonly sameDataset: boolean;
  private readonly exampleText = new Map<Worker, string>();

  constructor(
    private readonly taxonomy: Taxonomy,
    opts: IclOptions,
    listTitles = false,
  ) {
    this.name = listTitles ? 'icl-titles' : 'icl';
    this.k = opts.k ?? ICL_DEFAULT_K;
    if (!Number.isInteger(this.k) || this.k < 0) throw new InputError(`icl: k must be a non-negative integer, got ${opts.k}`);
    this.seed = opts.seed ?? 0;
    this.pool = opts.pool;
    this.sameDataset = opts.sameDataset ?? true;
    this.base = new OffTheShelfTemplate(taxonomy, false);
    this.titleList = listTitles ? titleListBlock(taxonomy) : '';
    for (const w of this.pool) {
      const list = this.byDataset.get(w.dataset) ?? [];
      list.push(w);
      this.byDataset.set(w.dataset, list);
    }
    this.description =
      `in-context learning: ${listTitles ? 'the list of job titles, then ' : ''}${this.k} example workers from a pool of ${this.pool.length}, ` +
      "then the worker, all in the paper's off-the-shelf format";
  }

  /** The example workers shown before `worker`, in the order they are printed. */
  examplesFor(worker: Worker): Worker[] {
    const isSelf = (w: Worker): boolean => w.id === worker.id && w.dataset === worker.dataset;
    let candidates: readonly Worker[] = this.pool;
    if (this.sameDataset) {
      const same = this.byDataset.get(worker.dataset) ?? [];
      if (same.some((w) => !isSelf(w))) candidates = same;
    }
    const eligible = candidates.filter((w) => !isSelf(w)).length;
    const k = Math.min(this.k, eligible);
    const rng = new Prng(hash32(`${worker.dataset}\u0000${worker.id}`, this.seed));
    const chosen: Worker[] = [];
    const taken = new Set<number>();
    // Rejection sampling: O(k) draws when k is small against the pool, which is the use case.
    while (chosen.length < k) {
      const i = rng.int(candidates.length);
      const w = candidates[i] as Worker;
      if (taken.has(i) || isSelf(w)) continue;
      taken.add(i);
      chosen.push(w);
    }
    return chosen;
  }

  private prefixFor(worker: Worker): string {
    let s = this.titleList;
    for (const w of this.examplesFor(worker)) {
      let text = this.exampleText.get(w);
      if (text === undefined) {
        text = this.base.render(w).text;
        this.exampleText.set(w, text);
      }
      s += text + ICL_SEPARATOR;
    }
    return s;
  }

  render(worker: Worker): RenderedWorker {
    const prefix = this.prefixFor(worker);
    const own = this.base.render(worker);
    const shift = prefix.length;
    return {
      workerId: worker.id,
      text: prefix + own.text,
      spans: own.spans.map((s) => ({ ...s, start: s.start + shift, end: s.end + shift, titleStart: s.titleStart + shift, titleEnd: s.titleEnd + shift })),
    };
  }

  prompt(worker: Worker, index: number): string {
    return this.prefixFor(worker) + this.base.prompt(worker, index);
  }

  prompts(worker: Worker): PredictionPrompt[] {
    const prefix = this.prefixFor(worker);
    return allPrompts(this.taxonomy, worker, (w, i) => prefix + this.base.prompt(w, i));
  }
}
