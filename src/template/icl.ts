/**
 * In-context learning (template `icl`): k example resumes from the training split, each rendered by the
 * `resume` template, then the worker's own resume; texts are separated by one blank line:
 *
 *   <example resume 1>\n\n<example resume 2>\n\n...<example resume k>\n\n<the worker's resume>
 *
 * The examples for a worker are drawn from the pool with a generator seeded by (seed, worker id), never
 * include the worker itself (same id and dataset) and, by default, come from the worker's own dataset
 * (the whole pool when that dataset has no other worker). So a worker's examples do not depend on the
 * other workers being rendered, and every prompt of the worker shares the same examples.
 */
import { InputError } from '../errors.js';
import type { Worker } from '../panel/types.js';
import { hash32, Prng } from '../synth/prng.js';
import type { Taxonomy } from '../taxonomy/taxonomy.js';
import { ResumeTemplate } from './resume.js';
import { allPrompts } from './text-builder.js';
import type { PredictionPrompt, RenderedWorker, Template, TemplateName } from './types.js';

export const ICL_SEPARATOR = '\n\n';

export interface IclOptions {
  /** Workers to draw examples from (the training split). */
  pool: readonly Worker[];
  /** Number of example resumes (default 3). */
  k?: number;
  /** Seed of the draw (default 0). */
  seed?: number;
  /** Draw examples only from the worker's dataset when it has any (default true). */
  sameDataset?: boolean;
}

export class IclTemplate implements Template {
  readonly name: TemplateName = 'icl';
  readonly description: string;
  private readonly resume: ResumeTemplate;
  private readonly pool: readonly Worker[];
  private readonly k: number;
  private readonly seed: number;
  private readonly byDataset = new Map<string, Worker[]>();
  private readonly sameDataset: boolean;
  private readonly exampleText = new Map<Worker, string>();

  constructor(
    private readonly taxonomy: Taxonomy,
    opts: IclOptions,
  ) {
    this.k = opts.k ?? 3;
    if (!Number.isInteger(this.k) || this.k < 0) throw new InputError(`icl: k must be a non-negative integer, got ${opts.k}`);
    this.seed = opts.seed ?? 0;
    this.pool = opts.pool;
    this.sameDataset = opts.sameDataset ?? true;
    this.resume = new ResumeTemplate(taxonomy, true);
    for (const w of this.pool) {
      const list = this.byDataset.get(w.dataset) ?? [];
      list.push(w);
      this.byDataset.set(w.dataset, list);
    }
    this.description = `in-context learning: ${this.k} example resumes from a pool of ${this.pool.length} workers, then the worker's resume`;
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
    let s = '';
    for (const w of this.examplesFor(worker)) {
      let text = this.exampleText.get(w);
      if (text === undefined) {
        text = this.resume.render(w).text;
        this.exampleText.set(w, text);
      }
      s += text + ICL_SEPARATOR;
    }
    return s;
  }

  render(worker: Worker): RenderedWorker {
    const prefix = this.prefixFor(worker);
    const own = this.resume.render(worker);
    const shift = prefix.length;
    return {
      workerId: worker.id,
      text: prefix + own.text,
      spans: own.spans.map((s) => ({ ...s, start: s.start + shift, end: s.end + shift, titleStart: s.titleStart + shift, titleEnd: s.titleEnd + shift })),
    };
  }

  prompt(worker: Worker, index: number): string {
    return this.prefixFor(worker) + this.resume.prompt(worker, index);
  }

  prompts(worker: Worker): PredictionPrompt[] {
    const prefix = this.prefixFor(worker);
    return allPrompts(this.taxonomy, worker, (w, i) => prefix + this.resume.prompt(w, i));
  }
}
