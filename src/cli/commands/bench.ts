/**
 * `labor-llm bench`: the engine benchmark (src/bench/engine.ts) on seeded benchmark models: every mode's
 * time per prompt over all titles, evaluated tokens and decode calls, and the trie's efficiency against
 * the model's all-logits prompt-processing rate. Tables on stdout, progress per model on stderr.
 */
import { writeFile } from 'node:fs/promises';
import type { Argv, CommandModule } from 'yargs';
import { formatBoundedBench, runBoundedBench } from '../../bench/bounded.js';
import { engineBenchRecord, formatEngineBench, runEngineBench, type EngineBenchResult } from '../../bench/engine.js';
import { formatPrecisionBench, runPrecisionBench, type PrecisionBenchResult } from '../../bench/precision.js';
import { TINY_PRESETS, VOCABS, type TinyPreset, type VocabName } from '../../models/gguf/index.js';
import { integer } from '../args.js';
import { withInterrupt } from '../interrupt.js';
import { LORA_OPTION, parseLoraOption } from '../lora-option.js';
import { log, printJson, type GlobalOptions } from '../output.js';
import { createProgress } from '../progress.js';

const VOCAB_CHOICES = [...VOCABS, 'both'] as const;

interface BenchArgs extends GlobalOptions {
  vocab: (typeof VOCAB_CHOICES)[number];
  preset: TinyPreset;
  taxonomy: string;
  iterations: number;
  threads: number | undefined;
  batchSize: number;
  reference: boolean;
  out: string | undefined;
  bounded: boolean;
  precision: boolean;
  model: string;
  data: string;
  workers: number;
  topK: number;
  tolerance: number[];
  lora: string[] | undefined;
}

/** --out: the results as JSON in that file. */
async function writeOut(args: BenchArgs, results: unknown): Promise<void> {
  if (args.out === undefined) return;
  await writeFile(args.out, `${JSON.stringify(results, null, 2)}\n`);
  log(args, `wrote ${args.out}`);
}

export const benchCommand: CommandModule<GlobalOptions, BenchArgs> = {
  command: 'bench',
  describe: 'benchmark the engine: all-title scoring per prompt (reference, sequential, trie) and its efficiency',
  builder: (y: Argv<GlobalOptions>) =>
    y
      .option('vocab', { choices: VOCAB_CHOICES, default: 'both' as const, describe: 'vocabulary of the benchmark model (Llama-2 SentencePiece, Llama-3 BPE) or both' })
      .option('preset', { choices: TINY_PRESETS, default: 'tiny' as const, describe: 'model size: tiny (f32, seconds) or 170m (f16, minutes); written once to .cache/bench-models' })
      .option('taxonomy', { type: 'string', default: 'occ1990dd', describe: 'titles scored: occ1990dd, soc2018 or a CSV file with code,title' })
      .option('iterations', { type: 'number', default: 5, describe: 'timed runs of each mode (the mean is reported)' })
      .option('threads', { type: 'number', describe: 'CPU threads (default: all cores)' })
      .option('batch-size', { type: 'number', default: 256, describe: 'tokens per decode (trie chunk size)' })
      .option('reference', { type: 'boolean', default: true, describe: 'include the slow per-title reference (--no-reference skips it)' })
      .option('out', { type: 'string', describe: 'also write the results (with the CPU they ran on) to this JSON file' })
      .option('bounded', { type: 'boolean', default: false, describe: 'instead: bounded mode against the full trie on a fine-tuned model\'s test transitions' })
      .option('precision', { type: 'boolean', default: false, describe: 'instead: each mode against the per-title reference under f32/f16 weights, f32/f16 KV cache, flash attention off/on' })
      .option('model', { type: 'string', default: 'labor-llm-demo/models/tiny-finetuned.gguf', describe: '--bounded: the fine-tuned GGUF model (the demo writes this one)' })
      .option('data', { type: 'string', default: 'labor-llm-demo/panel', describe: '--bounded: panel folder whose test split is scored' })
      .option('workers', { type: 'number', default: 20, describe: '--bounded: test workers scored' })
      .option('top-k', { type: 'number', default: 5, describe: '--bounded: titles that must be exact' })
      .option('tolerance', { type: 'number', array: true, default: [0.01, 0.001], describe: '--bounded: tolerances in nats, one row each' })
      .option('lora', { ...LORA_OPTION, describe: `--bounded: ${LORA_OPTION.describe}` })
      .example('$0 bench', 'both vocabularies of the tiny model, 5 runs of each mode')
      .example('$0 bench --vocab llama-spm --preset 170m --iterations 1 --out bench-170m.json', 'the 162M-parameter model, results kept as JSON')
      .example('$0 bench --vocab llama-bpe --no-reference --json --quiet', 'trie against sequential only, as JSON on stdout')
      .example('$0 bench --precision --vocab llama-spm', 'how far f16 weights, an f16 KV cache and flash attention move the scores')
      .example('$0 demo && $0 bench --bounded', 'bounded mode against the full trie on the demo\'s fine-tuned model') as unknown as Argv<BenchArgs>, // yargs adds the camelCase keys at run time; its types do not
  handler: async (args) => {
    integer('iterations', args.iterations, 1);
    if (args.threads !== undefined) integer('threads', args.threads, 1);
    integer('batch-size', args.batchSize, 1);
    const vocabs: VocabName[] = args.vocab === 'both' ? [...VOCABS] : [args.vocab];
    const progress = createProgress(args);
    if (args.bounded) {
      integer('workers', args.workers, 1);
      integer('top-k', args.topK, 1);
      const step = progress.step('bounded vs trie', 0, 'transitions');
      const r = await withInterrupt((signal) =>
        runBoundedBench({
          model: args.model,
          data: args.data,
          workers: args.workers,
          topK: args.topK,
          tolerances: args.tolerance,
          lora: parseLoraOption(args.lora),
          ...(args.threads !== undefined ? { threads: args.threads } : {}),
          onProgress: step.callback(),
          signal,
        }),
      );
      step.done(`${r.transitions} transitions`);
      await writeOut(args, r);
      if (args.json) printJson({ command: 'bench', ...(args.out !== undefined ? { out: args.out } : {}), bounded: r });
      else process.stdout.write(`${formatBoundedBench(r)}\n`);
      return;
    }
    if (args.precision) {
      const precision = await withInterrupt(async (signal) => {
        const out: PrecisionBenchResult[] = [];
        for (const vocab of vocabs) {
          const step = progress.step(`precision ${vocab}`, 0, 'runs');
          const r = await runPrecisionBench({
            vocab,
            taxonomy: args.taxonomy,
            ...(args.threads !== undefined ? { threads: args.threads } : {}),
            onProgress: step.callback(),
            signal,
          });
          step.done(`${r.rows.length} settings`);
          out.push(r);
          if (!args.json) process.stdout.write(`${formatPrecisionBench(r)}\n\n`);
        }
        return out;
      });
      await writeOut(args, precision);
      if (args.json) printJson({ command: 'bench', ...(args.out !== undefined ? { out: args.out } : {}), precision });
      return;
    }
    const results = await withInterrupt(async (signal) => {
      const out: EngineBenchResult[] = [];
      for (const vocab of vocabs) {
        const step = progress.step(`bench ${args.preset} ${vocab}`, 0, 'runs');
        const r = await runEngineBench({
          vocab,
          preset: args.preset,
          taxonomy: args.taxonomy,
          ...(args.threads !== undefined ? { threads: args.threads } : {}),
          batchSize: args.batchSize,
          iterations: args.iterations,
          skipReference: !args.reference,
          onProgress: step.callback(),
          onLog: (m) => log(args, m),
          signal,
        });
        const trie = r.rows.find((x) => x.mode === 'trie')!;
        step.done(`trie ${trie.msPerPrompt.toFixed(1)} ms per prompt, efficiency ${r.efficiency.toFixed(2)}`);
        out.push(r);
        if (!args.json) process.stdout.write(`${formatEngineBench(r)}\n\n`);
      }
      return out;
    });
    const record = engineBenchRecord(results);
    await writeOut(args, record);
    if (args.json) printJson({ command: 'bench', ...(args.out !== undefined ? { out: args.out } : {}), ...record });
  },
};
