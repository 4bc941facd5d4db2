/**
 * Precision benchmark: how far each mode of the engine is from the per-title reference under each
 * numeric setting a user can choose (weights f32 or f16, KV cache f32 or f16, flash attention off or
 * on), over every title after the benchmark prompt.
 *
 * Two distances are reported per setting, in nats (natural-log probability):
 * - engine vs its own reference: the trie, sequential and bounded modes against the per-title
 *   reference run under the same setting. This is what the engine's batching adds; with f32 weights,
 *   f32 KV and flash attention off it must stay under 1e-4 (the tests check it).
 * - setting vs exact: the trie under the setting against the exact reference (f32 weights, f32 KV,
 *   flash attention off), raw and normalized over the titles. This is what the setting itself costs.
 *
 * The f16 model is the f32 benchmark model with every matrix rounded to f16 (same seed).
 */
import { cpus } from 'node:os';
import { Model, type ModelOptions, type TitleScores, type TitleSet } from '../engine/model.js';
import { CancelledError } from '../errors.js';
import type { VocabName } from '../models/gguf/index.js';
import { loadTaxonomy } from '../data/taxonomy/taxonomy.js';
import { BENCH_PROMPT, benchModelPath, defaultBenchModelsDir } from './engine.js';

export interface PrecisionSetting {
  name: string;
  weights: 'f32' | 'f16';
  kvCache: 'f32' | 'f16';
  flashAttention: 'off' | 'on';
}

/** The settings measured, the exact one first (it is the yardstick of the others). */
export const PRECISION_SETTINGS: readonly PrecisionSetting[] = [
  { name: 'exact: f32 weights, f32 KV, flash off', weights: 'f32', kvCache: 'f32', flashAttention: 'off' },
  { name: 'f32 weights, f32 KV, flash on', weights: 'f32', kvCache: 'f32', flashAttention: 'on' },
  { name: 'f32 weights, f16 KV, flash off', weights: 'f32', kvCache: 'f16', flashAttention: 'off' },
  { name: 'f16 weights, f32 KV, flash off', weights: 'f16', kvCache: 'f32', flashAttention: 'off' },
  { name: "f16 weights, f16 KV, flash on (llama.cpp's usual)", weights: 'f16', kvCache: 'f16', flashAttention: 'on' },
];

export interface PrecisionBenchOptions {
  vocab: VocabName;
  /** Titles scored: the first N of the taxonomy (default all). */
  titles?: number;
  taxonomy?: string;
  threads?: number;
  modelsDir?: string;
  /** Settings measured (default PRECISION_SETTINGS; the first must be the exact one). */
  settings?: readonly PrecisionSetting[];
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

export interface PrecisionRow {
  setting: string;
  /** Max |mode - reference under the same setting| over the titles, nats. Bounded: over the titles it resolved. */
  trieVsOwnReference: number;
  sequentialVsOwnReference: number;
  boundedVsOwnReference: number;
  /** Max |trie under the setting - exact reference| over the titles: raw and normalized log-probs. */
  rawVsExact: number;
  normalizedVsExact: number;
  /** Mean |normalized trie under the setting - normalized exact reference|. */
  meanNormalizedVsExact: number;
}

export interface PrecisionBenchResult {
  vocab: VocabName;
  titles: number;
  promptTokens: number;
  rows: PrecisionRow[];
  settings: { threads: number };
}

/** Largest |a[i] - b[i]| over the indices where both are finite numbers. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (Number.isFinite(x) && Number.isFinite(y)) m = Math.max(m, Math.abs(x - y));
  }
  return m;
}

function meanAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i]! - b[i]!);
  return a.length > 0 ? s / a.length : 0;
}

export async function runPrecisionBench(o: PrecisionBenchOptions): Promise<PrecisionBenchResult> {
  const settings = o.settings ?? PRECISION_SETTINGS;
  const threads = o.threads ?? cpus().length;
  const dir = o.modelsDir ?? defaultBenchModelsDir();
  const all = loadTaxonomy(o.taxonomy ?? 'occ1990dd').titles();
  const titles = all.slice(0, o.titles ?? all.length);
  const sig = o.signal ? { signal: o.signal } : {};
  let done = 0;
  const total = settings.length * 4;
  const tick = () => {
    if (o.signal?.aborted) throw new CancelledError();
    o.onProgress?.(++done, total);
  };

  let exact: TitleScores | undefined;
  let promptTokens = 0;
  const rows: PrecisionRow[] = [];
  for (const s of settings) {
    const opts: ModelOptions = { threads, kvCache: s.kvCache, flashAttention: s.flashAttention };
    const model = await Model.load(await benchModelPath(o.vocab, 'tiny', dir, s.weights === 'f32' ? undefined : s.weights), opts);
    try {
      const set: TitleSet = await model.titleSet(titles);
      const reference = await model.scoreTitles(BENCH_PROMPT, set, { mode: 'reference', ...sig });
      tick();
      const trie = await model.scoreTitles(BENCH_PROMPT, set, { mode: 'trie', reusePrefix: false, ...sig });
      tick();
      const sequential = await model.scoreTitles(BENCH_PROMPT, set, { mode: 'sequential', reusePrefix: false, ...sig });
      tick();
      const bounded = await model.scoreTitles(BENCH_PROMPT, set, { mode: 'bounded', reusePrefix: false, topK: 5, tolerance: 1e-3, ...sig });
      tick();
      exact ??= reference;
      promptTokens = trie.stats.promptTokens;
      rows.push({
        setting: s.name,
        trieVsOwnReference: maxAbsDiff(trie.logProbs, reference.logProbs),
        sequentialVsOwnReference: maxAbsDiff(sequential.logProbs, reference.logProbs),
        boundedVsOwnReference: maxAbsDiff(bounded.logProbs, reference.logProbs),
        rawVsExact: maxAbsDiff(trie.logProbs, exact.logProbs),
        normalizedVsExact: maxAbsDiff(trie.normalizedLogProbs(), exact.normalizedLogProbs()),
        meanNormalizedVsExact: meanAbsDiff(trie.normalizedLogProbs(), exact.normalizedLogProbs()),
      });
    } finally {
      await model.free();
    }
  }
  return { vocab: o.vocab, titles: titles.length, promptTokens, rows, settings: { threads } };
}

export function formatPrecisionBench(r: PrecisionBenchResult): string {
  const e = (x: number) => x.toExponential(1);
  return [
    `precision: tiny model, ${r.vocab} vocabulary, ${r.titles} titles after a ${r.promptTokens}-token prompt; max |difference| in nats`,
    '',
    '| setting | trie vs own reference | sequential vs own reference | bounded vs own reference | trie vs exact, raw | trie vs exact, normalized (max / mean) |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    ...r.rows.map(
      (x) =>
        `| ${x.setting} | ${e(x.trieVsOwnReference)} | ${e(x.sequentialVsOwnReference)} | ${e(x.boundedVsOwnReference)} | ${e(x.rawVsExact)} | ` +
        `${e(x.normalizedVsExact)} / ${e(x.meanNormalizedVsExact)} |`,
    ),
  ].join('\n');
}
