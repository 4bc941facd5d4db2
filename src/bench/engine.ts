/**
 * Engine benchmark: per prompt, over all titles of a taxonomy, every mode of ENGINE_BENCH_MODES side by
 * side in one run on one loaded model:
 *   reference   every title evaluated from an empty cache with its prompt
 *   sequential  prompt cached once, titles evaluated one by one
 *   trie        the engine
 * plus the same model's prompt-processing throughput with logits for every token (the yardstick for the
 * engine's efficiency: trie evaluated tokens per second / all-logits tokens per second).
 *
 * The engine benchmark: `labor-llm bench` runs it (`npm run bench` is that command keeping the JSON in
 * bench/results/; bench/native/ is its C++ form for machines without Node.js). A new mode is one more entry of
 * ENGINE_BENCH_MODES: each gives one row of the result.
 */
import { cpus } from 'node:os';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Model, type EngineStats, type ScoreMode, type TitleSet } from '../engine/model.js';
import { CancelledError, InputError } from '../errors.js';
import { TINY_LLAMA_VERSION, writeTinyLlama, type TinyPreset, type VocabName, type WritableTensorType } from '../models/gguf/index.js';
import { loadTaxonomy } from '../data/taxonomy/taxonomy.js';

/** One way of scoring every title after the benchmark prompt; one row of the result. */
export interface EngineBenchMode {
  name: string;
  description: string;
  /** Reference modes are slow and can be skipped (EngineBenchOptions.skipReference). */
  reference: boolean;
  /** Scores its unit of work (one prompt, or a worker's transitions) and returns the engine's counts, summed. */
  run(model: Model, set: TitleSet, signal?: AbortSignal): Promise<ModeWork>;
}

/** What one run of a mode did: `units` transitions (or resumes), the engine's counts summed over them. */
export interface ModeWork {
  units: number;
  evaluatedTokens: number;
  decodeCalls: number;
  promptTokens: number;
}

function work(stats: readonly EngineStats[]): ModeWork {
  return {
    units: stats.length,
    evaluatedTokens: stats.reduce((a, s) => a + s.evaluatedTokens, 0),
    decodeCalls: stats.reduce((a, s) => a + s.decodeCalls, 0),
    promptTokens: stats.reduce((a, s) => a + s.promptTokens, 0),
  };
}

function scoreMode(mode: ScoreMode, outputHead = true): EngineBenchMode['run'] {
  // reusePrefix off: every iteration pays for its whole prompt, as a worker's first transition would.
  return async (model, set, signal) =>
    work([(await model.scoreTitles(BENCH_PROMPT, set, { mode, reusePrefix: false, outputHead, ...(signal ? { signal } : {}) })).stats]);
}

/**
 * A worker's transitions in the order the evaluation runs them: the KV cells of the resume so far are
 * kept, so each transition evaluates only its new line before the titles. The first prompt of every
 * run is evaluated in full (the cache is cleared first), as for a new worker.
 */
function workerMode(mode: ScoreMode): EngineBenchMode['run'] {
  return async (model, set, signal) => {
    const sig = signal ? { signal } : {};
    const stats: EngineStats[] = [];
    for (const [i, prompt] of BENCH_WORKER_PROMPTS.entries()) {
      stats.push((await model.scoreTitles(prompt, set, { mode, reusePrefix: i > 0, ...sig })).stats);
    }
    return work(stats);
  };
}

/** The worker's transitions in one call, `crossBatch` prompts sharing every decode (first prompt in full). */
function crossBatchMode(crossBatch: number): EngineBenchMode['run'] {
  return async (model, set, signal) =>
    work((await model.scoreTitlesBatch(BENCH_WORKER_PROMPTS, set, { crossBatch, reusePrefix: false, ...(signal ? { signal } : {}) })).map((r) => r.stats));
}

/** Perplexity mode: the worker's whole resume in one pass, every title's tokens teacher-forced. */
const perplexityRun: EngineBenchMode['run'] = async (model, _set, signal) => {
  const r = await model.scoreSpans(BENCH_RESUME.text, BENCH_RESUME.spans, signal ? { signal } : {});
  return { units: 1, evaluatedTokens: r.stats.evaluatedTokens, decodeCalls: r.stats.decodeCalls, promptTokens: r.stats.promptTokens };
};

/** The modes measured, in the order of the result's rows. The trie and sequential rows are always there. */
export const ENGINE_BENCH_MODES: readonly EngineBenchMode[] = [
  { name: 'reference', description: 'every title evaluated from an empty cache with its prompt', reference: true, run: scoreMode('reference') },
  { name: 'sequential', description: 'prompt evaluated once, the titles one by one after it', reference: false, run: scoreMode('sequential') },
  { name: 'trie', description: 'the engine: internal trie nodes in batched chunks', reference: false, run: scoreMode('trie') },
  {
    name: 'trie, llama.cpp logits',
    description: "the engine without its fused output head: llama.cpp's logits and a log-sum-exp per row",
    reference: false,
    run: scoreMode('trie', false),
  },
  {
    name: 'sequential, worker',
    description: "per transition of a worker's resume, prompt cells kept between transitions, titles one by one",
    reference: false,
    run: workerMode('sequential'),
  },
  {
    name: 'trie, worker',
    description: "per transition of a worker's resume, prompt cells kept between transitions (as `eval` runs)",
    reference: false,
    run: workerMode('trie'),
  },
  {
    name: 'trie, worker, cross-batch 2',
    description: "the worker's transitions two at a time in shared decodes (crossBatch 2)",
    reference: false,
    run: crossBatchMode(2),
  },
  {
    name: 'trie, worker, cross-batch 4',
    description: "the worker's transitions four at a time in shared decodes (crossBatch 4)",
    reference: false,
    run: crossBatchMode(4),
  },
  {
    name: 'perplexity',
    description: "perplexity mode: per resume, one pass with every title's tokens teacher-forced",
    reference: false,
    run: perplexityRun,
  },
];

export interface EngineBenchOptions {
  vocab: VocabName;
  preset: TinyPreset;
  /** Built-in taxonomy name or a CSV file (default occ1990dd). */
  taxonomy?: string;
  /** CPU threads (default: all cores). */
  threads?: number;
  /** Tokens per decode (default 256). */
  batchSize?: number;
  /** Timed runs of each mode (default 5). */
  iterations?: number;
  /** Skip the (slow) per-title reference. */
  skipReference?: boolean;
  /** Folder of the generated benchmark models (default .cache/bench-models under the working directory). */
  modelsDir?: string;
  /** Units of work done: every timed run of every mode, then the throughput measurements. */
  onProgress?: (done: number, total: number) => void;
  onLog?: (message: string) => void;
  signal?: AbortSignal;
}

export interface EngineBenchRow {
  mode: string;
  description: string;
  /** Transitions (or resumes, in perplexity mode) per timed run; the figures below are per unit. */
  units: number;
  msPerPrompt: number;
  evaluatedTokens: number;
  decodeCalls: number;
  tokensPerSecond: number;
  /**
   * The all-logits rate measured right before and right after each of this mode's runs (their mean):
   * the yardstick of this row's efficiency, taken next to it because the host's speed drifts.
   */
  adjacentAllLogitsTokensPerSecond: number;
}

export interface EngineBenchResult {
  model: { vocab: VocabName; preset: TinyPreset; params: number; sizeBytes: number };
  settings: { threads: number; batchSize: number; iterations: number };
  taxonomy: string;
  titles: number;
  trie: { nodes: number; internalNodes: number; titleTokens: number; maxDepth: number };
  promptTokens: number;
  rows: EngineBenchRow[];
  allLogitsTokensPerSecond: number;
  efficiency: number;
  /**
   * The fused output head (ModelOptions.outputHead): "fused" or why it is off; the all-logits rate
   * through it, measured in every yardstick sample (null when off); the trie's efficiency against
   * that rate; the trie's speed-up over itself with llama.cpp's logits; the ceiling over sequential
   * at the head's rate (an exact method evaluating the trie's tokens at that rate).
   */
  head: {
    status: string;
    allLogitsTokensPerSecond: number | null;
    efficiency: number | null;
    overLlamaLogits: number;
    ceilingOverSequential: number | null;
  };
  /** The worker rows: trie per transition vs titles one by one, and the trie's efficiency there. */
  worker: { overSequential: number; efficiency: number; evaluatedTokens: number; newLineTokens: number; internalNodes: number };
  /** Cross-transition batching: per-transition speed-up over the worker trie row (above 1: faster) and efficiency. */
  crossBatch: { crossBatch: number; overTrieWorker: number; efficiency: number }[];
  /** Perplexity mode's tokens per second / the all-logits rate. */
  perplexityEfficiency: number;
  speedup: { overSequential: number; overReference: number | null };
  /**
   * The speed-ups an exact method would reach if it evaluated the trie's tokens at exactly the
   * all-logits rate (efficiency 1): the ceiling the method allows on this model and machine. When
   * sequential scoring itself runs near that rate (tiny, output-layer-bound models), the ceiling over
   * it is low whatever the engine does.
   */
  ceiling: { overSequential: number; overReference: number | null };
}

/** What `labor-llm bench --out` writes: the machine beside the results. */
export interface EngineBenchRecord {
  cpus: number;
  cpu: string | undefined;
  results: EngineBenchResult[];
}

/** A six-line resume of the PSID81 template, cut right before the next title. */
export const BENCH_PROMPT =
  '<A Resume from the PSID81 Dataset>\nThe following is the resume of a male worker of white ethnicity living in the South region, born in 1958.\n' +
  '1979 to 1980 (high school diploma): Cooks\n1980 to 1981 (high school diploma): Cooks\n1981 to 1982 (high school diploma): Unemployed\n' +
  '1982 to 1983 (some college): Retail salespersons and sales clerks\n1983 to 1984 (some college): Retail salespersons and sales clerks\n' +
  '1984 to 1985 (some college):';

/** The benchmark worker's resume: BENCH_PROMPT's history, one line a year to 1990. */
const BENCH_LINES: readonly [string, string][] = [
  ['1979 to 1980 (high school diploma):', 'Cooks'],
  ['1980 to 1981 (high school diploma):', 'Cooks'],
  ['1981 to 1982 (high school diploma):', 'Unemployed'],
  ['1982 to 1983 (some college):', 'Retail salespersons and sales clerks'],
  ['1983 to 1984 (some college):', 'Retail salespersons and sales clerks'],
  ['1984 to 1985 (some college):', 'Sales supervisors and proprietors'],
  ['1985 to 1986 (some college):', 'Sales supervisors and proprietors'],
  ['1986 to 1987 (college degree):', 'Managers and administrators, not elsewhere classified'],
  ['1987 to 1988 (college degree):', 'Managers and administrators, not elsewhere classified'],
  ['1988 to 1989 (college degree):', 'Managers and administrators, not elsewhere classified'],
  ['1989 to 1990 (college degree):', 'Unemployed'],
];
const BENCH_HEADER =
  '<A Resume from the PSID81 Dataset>\nThe following is the resume of a male worker of white ethnicity living in the South region, born in 1958.\n';

/** The worker's transitions after the first year: each prompt ends right before the title. */
export const BENCH_WORKER_PROMPTS: readonly string[] = BENCH_LINES.slice(1).map(
  (_, i) => BENCH_HEADER + BENCH_LINES.slice(0, i + 1).map(([d, t]) => `${d} ${t}\n`).join('') + BENCH_LINES[i + 1]![0],
);

/** The whole resume and the character spans of the titles (with their newlines) that perplexity mode scores. */
export const BENCH_RESUME: { text: string; spans: [number, number][] } = (() => {
  let text = BENCH_HEADER;
  const spans: [number, number][] = [];
  for (const [i, [d, t]] of BENCH_LINES.entries()) {
    text += `${d}`;
    const start = text.length;
    text += ` ${t}\n`;
    if (i > 0) spans.push([start, text.length]);
  }
  return { text, spans };
})();

/** Tokens of the throughput yardstick, as llama-bench's pp512. */
const THROUGHPUT_TOKENS = 512;
/** Throughput runs of THROUGHPUT_TOKENS tokens in one yardstick sample (samples are taken between the modes' runs). */
const THROUGHPUT_RUNS = 3;

export function defaultBenchModelsDir(): string {
  return join(process.cwd(), '.cache', 'bench-models');
}

function benchModelFile(vocab: VocabName, preset: TinyPreset, dir: string, type?: WritableTensorType): string {
  return join(dir, `${preset}-${vocab}${type ? `-${type}` : ''}-v${TINY_LLAMA_VERSION}.gguf`);
}

/**
 * Path of the seeded benchmark model (seed 1), written on first use (atomically: concurrent runs can
 * share it). `type` overrides the preset's weight type (the same weights, rounded or not).
 */
export async function benchModelPath(vocab: VocabName, preset: TinyPreset, dir = defaultBenchModelsDir(), type?: WritableTensorType): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const out = benchModelFile(vocab, preset, dir, type);
  if (!existsSync(out)) await writeTinyLlama({ vocab, seed: 1, out, preset, ...(type ? { type } : {}) });
  return out;
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new InputError(`${name} must be an integer >= 1, got ${value}`, { file: '(options)', field: name });
  return value;
}

export async function runEngineBench(o: EngineBenchOptions): Promise<EngineBenchResult> {
  const iterations = positiveInteger('iterations', o.iterations ?? 5);
  const threads = positiveInteger('threads', o.threads ?? cpus().length);
  const batchSize = positiveInteger('batchSize', o.batchSize ?? 256);
  const taxonomy = loadTaxonomy(o.taxonomy ?? 'occ1990dd');
  const modes = ENGINE_BENCH_MODES.filter((m) => !(o.skipReference && m.reference));
  const total = (2 * modes.length + 1) * iterations;
  let done = 0;
  const tick = () => o.onProgress?.(++done, total);

  const dir = o.modelsDir ?? defaultBenchModelsDir();
  if (!existsSync(benchModelFile(o.vocab, o.preset, dir))) {
    o.onLog?.(`writing the ${o.preset} ${o.vocab} benchmark model to ${dir} (once)`);
  }
  const path = await benchModelPath(o.vocab, o.preset, dir);
  const model = await Model.load(path, { threads, batchSize, flashAttention: 'off' });
  try {
    const set = await model.titleSet(taxonomy.titles());
    const info = set.info();
    o.onProgress?.(0, total);
    // Warm up: the first decode allocates llama.cpp's output buffers.
    await model.scoreTitles(BENCH_PROMPT, set, { reusePrefix: false, ...(o.signal ? { signal: o.signal } : {}) });
    // The yardstick: llama.cpp's batched decode of 512 random tokens (as llama-bench's pp512) with
    // logits for every token, plus the same full-vocabulary log-sum-exp per token the engine does,
    // in batches of the engine's size.
    const n = Math.min(THROUGHPUT_TOKENS, model.info.nCtx);
    await model.throughput(n, { allLogits: true, withLogsumexp: true });
    // Rounds: the yardstick, then each mode followed by the yardstick, `iterations` times over. A mode's
    // efficiency is taken against the yardstick runs on either side of it: on a shared host whose
    // speed drifts by tens of percent within a minute, a yardstick measured a minute away says
    // little about the mode's moment, and interleaving keeps the ratios between modes fair too.
    const last = new Map<string, ModeWork>();
    const msByMode = new Map<string, number>(modes.map((m) => [m.name, 0]));
    const adjacent = new Map<string, number[]>(modes.map((m) => [m.name, []]));
    let tokens = 0;
    let ms = 0;
    const fused = model.info.outputHead === 'fused';
    let headTokens = 0;
    let headMs = 0;
    const yardstick = async (): Promise<number> => {
      if (o.signal?.aborted) throw new CancelledError();
      let t = 0;
      let m = 0;
      for (let k = 0; k < THROUGHPUT_RUNS; k++) {
        const tp = await model.throughput(n, { allLogits: true, withLogsumexp: true });
        t += tp.tokens;
        m += tp.msDecode + tp.msLogsumexp;
      }
      tokens += t;
      ms += m;
      if (fused) {
        // The same work through the fused head: the rate the engine's own output layer allows.
        const tp = await model.throughput(n, { allLogits: true, withLogsumexp: true, outputHead: true });
        headTokens += tp.tokens;
        headMs += tp.msDecode + tp.msLogsumexp;
      }
      tick();
      return (t / m) * 1000;
    };
    for (let i = 0; i < iterations; i++) {
      let before = await yardstick();
      for (const mode of modes) {
        const t0 = performance.now();
        last.set(mode.name, await mode.run(model, set, o.signal));
        msByMode.set(mode.name, msByMode.get(mode.name)! + performance.now() - t0);
        tick();
        const after = await yardstick();
        adjacent.get(mode.name)!.push(before, after);
        before = after;
      }
    }
    const mean = (xs: number[]) => xs.reduce((a, x) => a + x, 0) / xs.length;
    const rows: EngineBenchRow[] = modes.map((mode) => {
      const st = last.get(mode.name)!;
      const msPerPrompt = msByMode.get(mode.name)! / iterations / st.units;
      return {
        mode: mode.name,
        description: mode.description,
        units: st.units,
        msPerPrompt,
        evaluatedTokens: st.evaluatedTokens / st.units,
        decodeCalls: st.decodeCalls / st.units,
        tokensPerSecond: (st.evaluatedTokens / st.units / msPerPrompt) * 1000,
        adjacentAllLogitsTokensPerSecond: mean(adjacent.get(mode.name)!),
      };
    });
    const allLogitsTokensPerSecond = (tokens / ms) * 1000;
    const by = (m: string) => rows.find((r) => r.mode === m);
    // A row's efficiency, and the milliseconds its evaluated tokens take at the all-logits rate, both
    // against the yardstick measured next to it.
    const eff = (row: EngineBenchRow) => row.tokensPerSecond / row.adjacentAllLogitsTokensPerSecond;
    const atRate = (row: EngineBenchRow) => (row.evaluatedTokens / row.adjacentAllLogitsTokensPerSecond) * 1000;
    const trie = by('trie')!;
    const reference = by('reference');
    return {
      model: { vocab: o.vocab, preset: o.preset, params: model.info.nParams, sizeBytes: model.info.sizeBytes },
      settings: { threads, batchSize, iterations },
      taxonomy: taxonomy.name,
      titles: set.size,
      trie: { nodes: info.trieNodes, internalNodes: info.internalNodes, titleTokens: info.titleTokens, maxDepth: info.maxDepth },
      promptTokens: last.get('trie')!.promptTokens,
      rows,
      allLogitsTokensPerSecond,
      efficiency: eff(trie),
      head: {
        status: model.info.outputHead,
        allLogitsTokensPerSecond: fused ? (headTokens / headMs) * 1000 : null,
        efficiency: fused ? trie.tokensPerSecond / ((headTokens / headMs) * 1000) : null,
        overLlamaLogits: by('trie, llama.cpp logits')!.msPerPrompt / trie.msPerPrompt,
        ceilingOverSequential: fused ? by('sequential')!.msPerPrompt / ((trie.evaluatedTokens / ((headTokens / headMs) * 1000)) * 1000) : null,
      },
      worker: {
        overSequential: by('sequential, worker')!.msPerPrompt / by('trie, worker')!.msPerPrompt,
        efficiency: eff(by('trie, worker')!),
        evaluatedTokens: by('trie, worker')!.evaluatedTokens,
        newLineTokens: by('trie, worker')!.evaluatedTokens - info.internalNodes,
        internalNodes: info.internalNodes,
      },
      crossBatch: [2, 4].map((g) => {
        const row = by(`trie, worker, cross-batch ${g}`)!;
        return { crossBatch: g, overTrieWorker: by('trie, worker')!.msPerPrompt / row.msPerPrompt, efficiency: eff(row) };
      }),
      perplexityEfficiency: eff(by('perplexity')!),
      speedup: {
        overSequential: by('sequential')!.msPerPrompt / trie.msPerPrompt,
        overReference: reference ? reference.msPerPrompt / trie.msPerPrompt : null,
      },
      ceiling: {
        overSequential: by('sequential')!.msPerPrompt / atRate(trie),
        overReference: reference ? reference.msPerPrompt / atRate(trie) : null,
      },
    };
  } finally {
    await model.free();
  }
}

/** The results with the machine they ran on. */
export function engineBenchRecord(results: EngineBenchResult[]): EngineBenchRecord {
  return { cpus: cpus().length, cpu: cpus()[0]?.model, results };
}

/** A Markdown table of one result, with the trie's efficiency and speed-ups below it. */
export function formatEngineBench(r: EngineBenchResult): string {
  const lines = [
    `model: ${r.model.preset} (${(r.model.params / 1e6).toFixed(1)}M params), ${r.model.vocab} vocabulary; ` +
      `${r.titles} ${r.taxonomy} titles: ${r.trie.titleTokens} title tokens, trie ${r.trie.nodes} nodes, ${r.trie.internalNodes} internal; prompt ${r.promptTokens} tokens`,
    '',
    '| mode | ms per unit | evaluated tokens | decode calls | evaluated tokens/s | all-logits tokens/s beside it | efficiency |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...r.rows.map(
      (x) =>
        `| ${x.mode} | ${x.msPerPrompt.toFixed(1)} | ${+x.evaluatedTokens.toFixed(1)} | ${+x.decodeCalls.toFixed(1)} | ${x.tokensPerSecond.toFixed(0)} | ` +
        `${x.adjacentAllLogitsTokensPerSecond.toFixed(0)} | ${(x.tokensPerSecond / x.adjacentAllLogitsTokensPerSecond).toFixed(2)} |`,
    ),
    '',
    'unit: one prompt (reference, sequential, trie), one transition of a worker with the prompt cells kept (worker rows), one resume (perplexity)',
    '',
    `all-logits prompt processing (decode + log-sum-exp): ${r.allLogitsTokensPerSecond.toFixed(0)} tokens/s over the run; ` +
      `trie efficiency ${r.efficiency.toFixed(2)} (against the rate measured beside it)`,
    `trie speed-up: ${r.speedup.overSequential.toFixed(2)}x over sequential` +
      (r.speedup.overReference !== null ? `, ${r.speedup.overReference.toFixed(1)}x over the per-title reference` : ''),
    `fused output head: ${r.head.status}; trie ${r.head.overLlamaLogits.toFixed(2)}x over itself with llama.cpp's logits` +
      (r.head.allLogitsTokensPerSecond !== null && r.head.efficiency !== null
        ? `; all-logits rate through the head ${r.head.allLogitsTokensPerSecond.toFixed(0)} tokens/s over the run, trie efficiency ${r.head.efficiency.toFixed(2)} against it` +
          `, ceiling at that rate ${r.head.ceilingOverSequential!.toFixed(2)}x over sequential`
        : ''),
    `ceiling at the all-logits rate (efficiency 1): ${r.ceiling.overSequential.toFixed(2)}x over sequential` +
      (r.ceiling.overReference !== null ? `, ${r.ceiling.overReference.toFixed(1)}x over the per-title reference` : ''),
    `per worker transition: trie ${r.worker.overSequential.toFixed(2)}x over sequential, efficiency ${r.worker.efficiency.toFixed(2)} ` +
      `(${+r.worker.evaluatedTokens.toFixed(1)} evaluated tokens = ${r.worker.internalNodes} internal nodes + ${+r.worker.newLineTokens.toFixed(1)} new-line tokens)`,
    ...r.crossBatch.map(
      (c) => `cross-batch ${c.crossBatch}: ${c.overTrieWorker.toFixed(2)}x the worker trie's speed per transition, efficiency ${c.efficiency.toFixed(2)}`,
    ),
    `perplexity mode: ${r.perplexityEfficiency.toFixed(2)} of the all-logits rate`,
  ];
  return lines.join('\n');
}
