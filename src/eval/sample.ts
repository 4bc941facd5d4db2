/**
 * A seeded random sample of the evaluated records (`eval --sample 0.1 --sample-seed S`), as the paper
 * evaluates in-context learning on "a 10% random sample of the test set" (talk lines 218-243: 6,177 of
 * PSID81's 61,772 test records).
 *
 * Every record (worker, index) of the selected workers is ranked by hash32("DATASET\0ID\0INDEX", seed)
 * and the floor(fraction * records) records of lowest rank are kept. So the sample is a function of the
 * evaluated workers (panel, split, --limit) and the seed only: every run of one panel and seed, whatever
 * its model, template or mode, scores the same records, and their rows compare record by record. A
 * larger fraction keeps a superset. The fraction and seed are part of the evaluation's identity.
 */
import { ParameterError } from '../errors.js';
import type { Worker } from '../data/panel/types.js';
import type { StoredResult } from '../results/types.js';
import { hash32 } from '../data/synth/prng.js';
import type { PredictionPrompt, Template } from '../data/template/index.js';

export interface SampleSpec {
  /** Share of the records kept, in (0, 1]. */
  fraction: number;
  /** Seed of the draw (default 0). */
  seed: number;
}

export interface RecordSample extends SampleSpec {
  /** Records kept (over every record of the workers the sample was drawn from). */
  size: number;
  /** Whether record `index` of `worker` is in the sample. */
  has(worker: Worker, index: number): boolean;
}

/** Checks a sample's fraction and seed; errors name the parameters (`sample.fraction`, `sample.seed`). */
export function checkSampleSpec(spec: SampleSpec): SampleSpec {
  if (!Number.isFinite(spec.fraction) || spec.fraction <= 0 || spec.fraction > 1) {
    throw new ParameterError('sample.fraction', `\`sample.fraction\` must be a fraction in (0, 1] (0.1 for the paper's 10%), got ${spec.fraction}`);
  }
  if (!Number.isInteger(spec.seed)) {
    throw new ParameterError('sample.seed', `\`sample.seed\` must be an integer, got ${spec.seed}`);
  }
  return spec;
}

function recordKey(worker: Worker, index: number): string {
  return `${worker.dataset}\u0000${worker.id}\u0000${index}`;
}

/** Draws the sample over every record of `workers` (record 0 included, as the paper counts records). */
export function sampleRecords(workers: readonly Worker[], spec: SampleSpec): RecordSample {
  const { fraction, seed } = checkSampleSpec(spec);
  const ranked: { key: string; h: number }[] = [];
  for (const w of workers) {
    for (let i = 0; i < w.records.length; i++) {
      const key = recordKey(w, i);
      ranked.push({ key, h: hash32(key, seed) });
    }
  }
  const size = Math.floor(fraction * ranked.length + 1e-9);
  // Ties between equal hashes are broken by the key, so the input order never matters.
  ranked.sort((a, b) => a.h - b.h || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const kept = new Set(ranked.slice(0, size).map((r) => r.key));
  return { fraction, seed, size, has: (worker, index) => kept.has(recordKey(worker, index)) };
}

/** The rows of `worker` that are in the sample. */
export function sampledResults(sample: RecordSample, worker: Worker, results: StoredResult[]): StoredResult[] {
  return results.filter((r) => sample.has(worker, r.index));
}

/**
 * `template` with prompts() cut to the sampled records, so that distribution mode (one pass over every
 * title per prompt) does only the sampled work; render() and prompt() are unchanged.
 */
export function sampledPrompts(template: Template, sample: RecordSample): Template {
  return {
    name: template.name,
    description: `${template.description} (prompts of a ${sample.fraction} sample of the records)`,
    render: (w) => template.render(w),
    prompt: (w, i) => template.prompt(w, i),
    prompts: (w): PredictionPrompt[] => template.prompts(w).filter((p) => sample.has(w, p.index)),
  };
}
