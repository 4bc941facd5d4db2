/**
 * Engine benchmark: per prompt, over all titles of a taxonomy, side by side in one run:
 *   (a) reference   every title evaluated from an empty cache with its prompt
 *   (b) sequential  prompt cached once, titles evaluated one by one
 *   (c) trie        the engine
 * plus the same model's prompt-processing throughput with logits for every token (the yardstick
 * for the engine's efficiency: evaluated tokens per second / all-logits tokens per second).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Bench } from 'tinybench';
import { Model, type ScoreMode } from '../src/engine/model.js';
import { writeTinyLlama, TINY_LLAMA_VERSION, type TinyPreset, type VocabName } from '../src/gguf/index.js';
import { loadTaxonomy } from '../src/taxonomy/taxonomy.js';

export interface EngineBenchOptions {
  vocab: VocabName;
  preset: TinyPreset;
  taxonomy: string;
  threads: number;
  batchSize: number;
  iterations: number;
  /** Skip the (slow) per-title reference. */
  skipReference: boolean;
}

export interface EngineBenchRow {
  mode: ScoreMode;
  msPerPrompt: number;
  evaluatedTokens: number;
  decodeCalls: number;
  tokensPerSecond: number;
}

export interface EngineBenchResult {
  model: { vocab: VocabName; preset: TinyPreset; params: number; sizeBytes: number };
  taxonomy: string;
  titles: number;
  trie: { nodes: number; internalNodes: number; titleTokens: number; maxDepth: number };
  promptTokens: number;
  rows: EngineBenchRow[];
  allLogitsTokensPerSecond: number;
  efficiency: number;
  speedup: { overSequential: number; overReference: number | null };
}

const PROMPT =
  '<A Resume from the PSID81 Dataset>\nThe following is the resume of a male worker of white ethnicity living in the South region, born in 1958.\n' +
  '1979 to 1980 (high school diploma): Cooks\n1980 to 1981 (high school diploma): Cooks\n1981 to 1982 (high school diploma): Unemployed\n' +
  '1982 to 1983 (some college): Retail salespersons and sales clerks\n1983 to 1984 (some college): Retail salespersons and sales clerks\n' +
  '1984 to 1985 (some college):';

export async function benchModelPath(vocab: VocabName, preset: TinyPreset): Promise<string> {
  const dir = join(process.cwd(), '.cache', 'bench-models');
  mkdirSync(dir, { recursive: true });
  const out = join(dir, `${preset}-${vocab}-v${TINY_LLAMA_VERSION}.gguf`);
  const { existsSync } = await import('node:fs');
  if (!existsSync(out)) await writeTinyLlama({ vocab, seed: 1, out, preset });
  return out;
}

export async function runEngineBench(o: EngineBenchOptions): Promise<EngineBenchResult> {
  const path = await benchModelPath(o.vocab, o.preset);
  const model = await Model.load(path, { threads: o.threads, batchSize: o.batchSize, flashAttention: 'off' });
  try {
    const taxonomy = loadTaxonomy(o.taxonomy);
    const set = await model.titleSet(taxonomy.titles());
    const info = set.info();
    const modes: ScoreMode[] = o.skipReference ? ['sequential', 'trie'] : ['reference', 'sequential', 'trie'];
    // Warm up: the first decode allocates llama.cpp's output buffers.
    await model.scoreTitles(PROMPT, set, { reusePrefix: false });
    const last = new Map<ScoreMode, { evaluatedTokens: number; decodeCalls: number; promptTokens: number }>();
    const bench = new Bench({ iterations: o.iterations, time: 0, warmup: false });
    for (const mode of modes) {
      bench.add(mode, async () => {
        // reusePrefix off: every iteration pays for its prompt, as a fresh transition would.
        const r = await model.scoreTitles(PROMPT, set, { mode, reusePrefix: false });
        last.set(mode, r.stats);
      });
    }
    await bench.run();
    const rows: EngineBenchRow[] = modes.map((mode) => {
      const task = bench.getTask(mode)!;
      const ms = (task.result as unknown as { latency: { mean: number } }).latency.mean;
      const st = last.get(mode)!;
      return {
        mode,
        msPerPrompt: ms,
        evaluatedTokens: st.evaluatedTokens,
        decodeCalls: st.decodeCalls,
        tokensPerSecond: (st.evaluatedTokens / ms) * 1000,
      };
    });
    // The yardstick: llama.cpp's batched decode of 512 random tokens (as llama-bench's pp512) with
    // logits for every token, plus the same full-vocabulary log-sum-exp per token the engine does,
    // in batches of the engine's size. Mean of 3 after a warm-up.
    const n = Math.min(512, model.info.nCtx);
    await model.throughput(n, { allLogits: true, withLogsumexp: true });
    let tokens = 0;
    let ms = 0;
    for (let i = 0; i < 3; i++) {
      const tp = await model.throughput(n, { allLogits: true, withLogsumexp: true });
      tokens += tp.tokens;
      ms += tp.msDecode + tp.msLogsumexp;
    }
    const allLogitsTokensPerSecond = (tokens / ms) * 1000;
    const by = (m: ScoreMode) => rows.find((r) => r.mode === m);
    const trie = by('trie')!;
    return {
      model: { vocab: o.vocab, preset: o.preset, params: model.info.nParams, sizeBytes: model.info.sizeBytes },
      taxonomy: taxonomy.name,
      titles: set.size,
      trie: { nodes: info.trieNodes, internalNodes: info.internalNodes, titleTokens: info.titleTokens, maxDepth: info.maxDepth },
      promptTokens: last.get('trie')!.promptTokens,
      rows,
      allLogitsTokensPerSecond,
      efficiency: trie.tokensPerSecond / allLogitsTokensPerSecond,
      speedup: {
        overSequential: by('sequential')!.msPerPrompt / trie.msPerPrompt,
        overReference: by('reference') ? by('reference')!.msPerPrompt / trie.msPerPrompt : null,
      },
    };
  } finally {
    await model.free();
  }
}

export function formatEngineBench(r: EngineBenchResult): string {
  const lines = [
    `model: ${r.model.preset} (${(r.model.params / 1e6).toFixed(1)}M params), ${r.model.vocab} vocabulary; ` +
      `${r.titles} ${r.taxonomy} titles: ${r.trie.titleTokens} title tokens, trie ${r.trie.nodes} nodes, ${r.trie.internalNodes} internal; prompt ${r.promptTokens} tokens`,
    '',
    '| mode | ms per prompt | evaluated tokens | decode calls | evaluated tokens/s |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...r.rows.map(
      (x) => `| ${x.mode} | ${x.msPerPrompt.toFixed(1)} | ${x.evaluatedTokens} | ${x.decodeCalls} | ${x.tokensPerSecond.toFixed(0)} |`,
    ),
    '',
    `all-logits prompt processing (decode + log-sum-exp): ${r.allLogitsTokensPerSecond.toFixed(0)} tokens/s; ` +
      `trie efficiency ${r.efficiency.toFixed(2)}`,
    `trie speed-up: ${r.speedup.overSequential.toFixed(2)}x over sequential` +
      (r.speedup.overReference !== null ? `, ${r.speedup.overReference.toFixed(1)}x over the per-title reference` : ''),
  ];
  return lines.join('\n');
}
