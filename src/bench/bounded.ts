/**
 * Bounded-mode benchmark: on a fine-tuned model and real test transitions (a panel folder's test
 * split), the full trie and the bounded search side by side, each pass over the workers in order with
 * the prompt cells kept between a worker's transitions (as `eval` runs them).
 *
 * Every transition is checked against the full trie: the bounded top-k titles are the full mode's, every
 * title it resolved has the full mode's score, and the true title's normalized log-prob lies in the
 * interval the bounded mode states, whose width is at most the tolerance. The result counts violations
 * (zero when the mode is right) beside the fraction of internal trie nodes evaluated and the time.
 */
import { cpus } from 'node:os';
import { Model, type TitleScores } from '../engine/model.js';
import { CancelledError, InputError } from '../errors.js';
import { readPanelDir } from '../data/io/index.js';
import { getTemplate, type TemplateName } from '../data/template/index.js';

export interface BoundedBenchOptions {
  /** Fine-tuned GGUF model. */
  model: string;
  /** Panel folder (`data import`, `data synth` or the demo's `panel`); its test split is used. */
  data: string;
  template?: TemplateName;
  /** Test workers scored, from the start of the split (default 20). */
  workers?: number;
  topK?: number;
  /** Tolerances measured, one row each (default 1e-2 and 1e-3 nats). */
  tolerances?: readonly number[];
  threads?: number;
  /** LoRA adapters applied to the model at load. */
  lora?: { path: string; scale: number }[];
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

export interface BoundedBenchRow {
  tolerance: number;
  topK: number;
  transitions: number;
  /** Internal trie nodes the search evaluated / all internal nodes: mean and maximum over transitions. */
  meanFraction: number;
  maxFraction: number;
  /** Transitions that ran out of sequence ids or cells and finished as the full trie. */
  fallbacks: number;
  msPerTransition: number;
  /** Full-trie time / bounded time over the same transitions. */
  speedup: number;
  /** Widest stated interval of the total's log (upper - lower), in nats. */
  maxInterval: number;
  /** Transitions where the bounded result disagrees with the full trie (see the module comment). */
  violations: number;
}

export interface BoundedBenchResult {
  model: string;
  data: string;
  transitions: number;
  internalNodes: number;
  /** The full trie's test perplexity over these transitions (normalized over the titles). */
  perplexity: number;
  trieMsPerTransition: number;
  rows: BoundedBenchRow[];
  settings: { threads: number; topK: number; workers: number };
}

/** Numerical slack between two exact computations of the same score (different batch shapes). */
const EXACT = 1e-4;

interface Transition {
  prompt: string;
  target: number;
}

function argmaxOrder(logp: Float64Array, k: number): number[] {
  const idx = [...logp.keys()].filter((i) => Number.isFinite(logp[i]!));
  idx.sort((a, b) => logp[b]! - logp[a]!);
  return idx.slice(0, k);
}

/** Whether the bounded scores agree with the full trie on one transition (see the module comment). */
export function boundedAgrees(full: TitleScores, bounded: TitleScores, target: number, topK: number, tolerance: number): boolean {
  const k = Math.min(topK, full.logProbs.length);
  const a = argmaxOrder(full.logProbs, k);
  const b = argmaxOrder(bounded.logProbs, k);
  for (let i = 0; i < k; i++) {
    // Same titles in the same order, up to ties within the numerical slack.
    if (Math.abs(full.logProbs[a[i]!]! - bounded.logProbs[b[i]!]!) > EXACT) return false;
  }
  for (let t = 0; t < bounded.logProbs.length; t++) {
    const v = bounded.logProbs[t]!;
    if (Number.isFinite(v) && Math.abs(v - full.logProbs[t]!) > EXACT) return false;
  }
  if (!Number.isFinite(bounded.logProbs[target]!)) return false;
  if (bounded.logTotalUpper - bounded.logTotal > tolerance + EXACT) return false;
  // The true total lies in [logTotal, logTotalUpper].
  return full.logTotal >= bounded.logTotal - EXACT && full.logTotal <= bounded.logTotalUpper + EXACT;
}

export async function runBoundedBench(o: BoundedBenchOptions): Promise<BoundedBenchResult> {
  const topK = o.topK ?? 5;
  const tolerances = o.tolerances ?? [1e-2, 1e-3];
  const threads = o.threads ?? cpus().length;
  const nWorkers = o.workers ?? 20;
  if (!Number.isInteger(topK) || topK < 1) throw new InputError(`topK must be an integer >= 1, got ${topK}`, { file: '(options)', field: 'topK' });
  for (const t of tolerances) {
    if (!(t > 0)) throw new InputError(`tolerances must be > 0, got ${t}`, { file: '(options)', field: 'tolerances' });
  }
  const store = await readPanelDir(o.data);
  const template = getTemplate(o.template ?? 'resume', { taxonomy: store.taxonomy });
  const titles = store.taxonomy.titles();
  const workers = store.panel.workers.filter((w) => store.splits.get(w.id) === 'test').slice(0, nWorkers);
  if (workers.length === 0) throw new InputError('the panel has no test workers', { file: o.data, field: 'splits' });
  // A worker's transitions in order, so each prompt extends the previous one.
  const byWorker: Transition[][] = workers.map((w) => template.prompts(w).map((p) => ({ prompt: p.prompt, target: store.taxonomy.indexOf(p.code) })));
  const count = byWorker.reduce((a, t) => a + t.length, 0);
  const total = count * (1 + tolerances.length);
  let done = 0;
  const model = await Model.load(o.model, { threads, lora: o.lora ?? [] });
  try {
    const set = await model.titleSet(titles);
    const sig = o.signal ? { signal: o.signal } : {};
    const pass = async (f: (t: Transition, first: boolean) => Promise<TitleScores>): Promise<{ ms: number; out: TitleScores[] }> => {
      const out: TitleScores[] = [];
      let ms = 0;
      for (const ts of byWorker) {
        for (const [i, t] of ts.entries()) {
          if (o.signal?.aborted) throw new CancelledError();
          const t0 = performance.now();
          out.push(await f(t, i === 0));
          ms += performance.now() - t0;
          o.onProgress?.(++done, total);
        }
      }
      return { ms, out };
    };
    // Warm-up: llama.cpp allocates its buffers on the first decode.
    await model.scoreTitles(byWorker[0]![0]!.prompt, set, sig);
    const full = await pass((t, first) => model.scoreTitles(t.prompt, set, { reusePrefix: !first, ...sig }));
    const flat = byWorker.flat();
    let sumLogp = 0;
    for (const [i, t] of flat.entries()) sumLogp += full.out[i]!.logProbs[t.target]! - full.out[i]!.logTotal;
    const internalNodes = full.out[0]!.stats.internalNodes;
    const rows: BoundedBenchRow[] = [];
    for (const tolerance of tolerances) {
      const b = await pass((t, first) => model.scoreTitles(t.prompt, set, { mode: 'bounded', topK, tolerance, target: t.target, reusePrefix: !first, ...sig }));
      const fractions = b.out.map((r) => r.stats.boundedNodes / r.stats.internalNodes);
      rows.push({
        tolerance,
        topK,
        transitions: flat.length,
        meanFraction: fractions.reduce((a, x) => a + x, 0) / fractions.length,
        maxFraction: Math.max(...fractions),
        fallbacks: b.out.filter((r) => r.stats.boundedFallback).length,
        msPerTransition: b.ms / flat.length,
        speedup: full.ms / b.ms,
        maxInterval: Math.max(...b.out.map((r) => r.logTotalUpper - r.logTotal)),
        violations: b.out.filter((r, i) => !boundedAgrees(full.out[i]!, r, flat[i]!.target, topK, tolerance)).length,
      });
    }
    return {
      model: o.model,
      data: o.data,
      transitions: flat.length,
      internalNodes,
      perplexity: Math.exp(-sumLogp / flat.length),
      trieMsPerTransition: full.ms / flat.length,
      rows,
      settings: { threads, topK, workers: workers.length },
    };
  } finally {
    await model.free();
  }
}

export function formatBoundedBench(r: BoundedBenchResult): string {
  return [
    `bounded mode on ${r.model}: ${r.transitions} test transitions of ${r.settings.workers} workers (${r.data}); ` +
      `full-trie perplexity ${r.perplexity.toFixed(2)}, ${r.internalNodes} internal trie nodes, trie ${r.trieMsPerTransition.toFixed(1)} ms per transition`,
    '',
    '| tolerance (nats) | top-k | mean fraction of nodes | max fraction | fallbacks | ms per transition | speed-up over trie | widest interval | violations |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...r.rows.map(
      (x) =>
        `| ${x.tolerance} | ${x.topK} | ${x.meanFraction.toFixed(3)} | ${x.maxFraction.toFixed(3)} | ${x.fallbacks} | ${x.msPerTransition.toFixed(1)} | ` +
        `${x.speedup.toFixed(2)}x | ${x.maxInterval.toExponential(2)} | ${x.violations} |`,
    ),
  ].join('\n');
}
