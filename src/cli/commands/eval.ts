/**
 * `labor-llm eval`: score every transition of a panel's split with an LLM (--model) or a baseline
 * (--baseline) into a results store; resumable (run the same command again) and shardable (--shard i/n,
 * then `labor-llm merge`).
 */
import type { Argv, CommandModule, Options } from 'yargs';
import { InputError } from '../../errors.js';
import { BASELINE_NAMES, type BaselineName, BaselineScorer } from '../../eval/baseline.js';
import { evaluate, type EvaluateOptions } from '../../eval/evaluate.js';
import { ImportedScorer } from '../../eval/imported-scorer.js';
import { LABOR_FORCE_DEFINITIONS, type LaborForceDefinition } from '../../metrics/binary.js';
import { EVAL_MODES, type EvalMode } from '../../eval/llm.js';
import { type EngineSettings, ModelScorer, type ModelScorerOptions } from '../../eval/model-scorer.js';
import { CareerScorer } from '../../eval/career.js';
import type { Scorer } from '../../eval/scorer.js';
import { defaultStorePath } from '../../eval/shard.js';
import { SPLIT_NAMES, type SplitName } from '../../data/io/index.js';
import { ICL_DEFAULT_K, TEMPLATE_NAMES } from '../../data/template/index.js';
import { oneOf } from '../args.js';
import { withInterrupt } from '../interrupt.js';
import { LORA_OPTION, parseLoraOption } from '../lora-option.js';
import { log, printJson, type GlobalOptions } from '../output.js';
import { createProgress, formatDuration } from '../progress.js';

interface EvalArgs extends GlobalOptions {
  model: string | undefined;
  baseline: string | undefined;
  careerModel: string | undefined;
  importScores: string | undefined;
  data: string;
  template: string;
  mode: string;
  split: string;
  shard: string | undefined;
  out: string | undefined;
  topK: number;
  limit: number | undefined;
  name: string | undefined;
  threads: number | undefined;
  contextSize: number | undefined;
  batchSize: number | undefined;
  crossBatch: number | undefined;
  gpuLayers: number | undefined;
  lora: string[] | undefined;
  kvCache: 'f16' | 'f32';
  flashAttention: 'auto' | 'on' | 'off';
  k: number | undefined;
  iclSeed: number | undefined;
  sample: number | undefined;
  sampleSeed: number | undefined;
  fullHash: boolean;
  commitInterval: number;
  laborForce: LaborForceDefinition;
}

/** The Scorer the flags ask for: a baseline (--baseline) or a model behind a template (--model). */
function scorerFromArgs(args: EvalArgs): Scorer {
  if (args.importScores !== undefined) return new ImportedScorer(args.importScores);
  if (args.careerModel !== undefined && args.baseline !== 'career') {
    throw new InputError('--career-model goes with --baseline career');
  }
  if (args.baseline === 'career') {
    if (args.careerModel === undefined) {
      throw new InputError('--baseline career scores a trained model: give --career-model FILE (labor-llm career train)');
    }
    return new CareerScorer({ model: args.careerModel, ...(args.threads !== undefined ? { threads: args.threads } : {}) });
  }
  if (args.baseline !== undefined) return new BaselineScorer(oneOf('baseline', args.baseline, BASELINE_NAMES) as BaselineName);
  const engine: EngineSettings = { kvCache: args.kvCache, flashAttention: args.flashAttention };
  if (args.threads !== undefined) engine.threads = args.threads;
  if (args.contextSize !== undefined) engine.contextSize = args.contextSize;
  if (args.batchSize !== undefined) engine.batchSize = args.batchSize;
  if (args.crossBatch !== undefined) {
    if (!Number.isInteger(args.crossBatch) || args.crossBatch < 1 || args.crossBatch > 16) {
      throw new InputError(`--cross-batch must be an integer in [1, 16], got ${args.crossBatch}`);
    }
    engine.crossBatch = args.crossBatch;
  }
  if (args.gpuLayers !== undefined) engine.gpuLayers = args.gpuLayers;
  const lora = parseLoraOption(args.lora);
  if (lora.length > 0) engine.lora = lora;
  const options: ModelScorerOptions = {
    model: args.model!,
    template: args.template,
    mode: oneOf('mode', args.mode, EVAL_MODES) as EvalMode,
    engine,
    fullHash: args.fullHash,
  };
  if (args.k !== undefined || args.iclSeed !== undefined) {
    options.icl = {};
    if (args.k !== undefined) options.icl.k = args.k;
    if (args.iclSeed !== undefined) options.icl.seed = args.iclSeed;
  }
  return new ModelScorer(options);
}

/**
 * The options of `eval`, as one table: `slurm eval` registers the same table and forwards whatever the
 * user gave to its shard jobs, so a flag added here reaches the cluster with nothing else to edit.
 */
export const EVAL_OPTIONS = {
  model: { type: 'string', describe: 'GGUF model file (or use --baseline)' },
  baseline: {
    type: 'string',
    choices: [...BASELINE_NAMES, 'career'],
    describe: 'score a baseline fitted on the train split instead of a model (career: a trained CAREER model, --career-model)',
  },
  'import-scores': {
    type: 'string',
    describe: "store an outside model's per-record log-probs (CSV or Parquet: worker_id, year, log_prob, optional code) as a run",
  },
  data: { type: 'string', demandOption: true, describe: 'panel store folder (labor-llm data import / synth --out)' },
  'career-model': { type: 'string', describe: '--baseline career: the model file (labor-llm career train)' },
  template: { type: 'string', default: 'resume', describe: `prompt template: ${TEMPLATE_NAMES.join(', ')}` },
  mode: {
    type: 'string',
    default: 'distribution',
    describe: 'distribution: every title scored per transition; perplexity: the true titles only, one pass per worker',
  },
  split: { type: 'string', default: 'test', describe: `split to evaluate: ${SPLIT_NAMES.join(', ')}` },
  shard: { type: 'string', describe: 'evaluate shard i of n (0-based), e.g. --shard $SLURM_ARRAY_TASK_ID/8' },
  out: { type: 'string', describe: 'results store (default results.duckdb, results.shard-I-of-N.duckdb with --shard)' },
  'top-k': { type: 'number', default: 10, describe: 'most probable codes stored per transition' },
  limit: { type: 'number', describe: 'only the first N workers of the split' },
  name: { type: 'string', describe: 'run name in the store (default: model file name, or the baseline)' },
  threads: { type: 'number', describe: 'CPU threads (default: all cores)' },
  'context-size': { type: 'number', describe: 'KV cache cells (default 4096): the longest prompt plus a trie chunk' },
  'batch-size': { type: 'number', describe: 'tokens per decode (trie chunk size)' },
  'cross-batch': { type: 'number', describe: "distribution mode: a worker's transitions scored N at a time in shared decodes (1-16, default 1; for GPUs)" },
  'gpu-layers': { type: 'number', describe: 'layers to offload on a GPU build (-1: all)' },
  'kv-cache': { choices: ['f16', 'f32'] as const, default: 'f32' as const, describe: 'KV cache precision' },
  lora: LORA_OPTION,
  'flash-attention': { choices: ['auto', 'on', 'off'] as const, default: 'off' as const },
  k: { type: 'number', describe: `templates icl, icl-titles: number of example workers (default ${ICL_DEFAULT_K}, as in the paper)` },
  'icl-seed': { type: 'number', describe: 'templates icl, icl-titles: seed of the example draw (default 0)' },
  sample: {
    type: 'number',
    describe: "score only this share of the records, a seeded random sample shared by every run of the panel and seed (the paper's ICL tables: 0.1)",
  },
  'sample-seed': { type: 'number', describe: 'seed of the --sample draw (default 0)' },
  'labor-force': {
    choices: LABOR_FORCE_DEFINITIONS,
    default: 'official' as const,
    describe: 'labor-force task: official (the unemployed are in the labor force) or employed (only those at work)',
  },
  'full-hash': { type: 'boolean', default: false, describe: 'hash the model file again instead of trusting the cached sha256 (slow)' },
  'commit-interval': { type: 'number', default: 1000, describe: 'commit finished workers at least every N ms (a kill loses at most that much work)' },
} as const satisfies Record<string, Options>;

export type EvalOptionName = keyof typeof EVAL_OPTIONS;

/**
 * Registers the eval options (less `omit`) with their rules. `withoutDefaults` leaves an option that is
 * not given undefined (its default shown in the help only), so that `evalArgv` forwards only what the
 * user said and the shard jobs apply eval's own defaults.
 */
export function withEvalOptions<T>(y: Argv<T>, opts: { omit?: readonly EvalOptionName[]; withoutDefaults?: boolean } = {}): Argv<T> {
  const omit = new Set<string>(opts.omit ?? []);
  for (const [name, spec] of Object.entries(EVAL_OPTIONS) as [string, Options][]) {
    if (omit.has(name)) continue;
    if (opts.withoutDefaults && spec.default !== undefined) {
      const { default: value, ...rest } = spec;
      y = y.option(name, { ...rest, defaultDescription: String(value) });
    } else {
      y = y.option(name, spec);
    }
  }
  return y
    .conflicts('model', ['baseline', 'import-scores'])
    .conflicts('baseline', 'import-scores')
    .check((a) => {
      // A typed error: yargs hands it to main() as is, which maps it to the usage exit code.
      if (a.model === undefined && a.baseline === undefined && a.importScores === undefined) {
        throw new InputError('give --model FILE, --baseline NAME or --import-scores FILE');
      }
      return true;
    });
}

/** The eval flags given in `args` (parsed by yargs), as an argument list that reproduces them. */
export function evalArgv(args: Record<string, unknown>, omit: readonly EvalOptionName[] = []): string[] {
  const argv: string[] = [];
  for (const name of Object.keys(EVAL_OPTIONS) as EvalOptionName[]) {
    if (omit.includes(name)) continue;
    const value = args[name];
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) {
      if (v === true) argv.push(`--${name}`);
      else if (v === false) argv.push(`--no-${name}`);
      else argv.push(`--${name}`, String(v));
    }
  }
  return argv;
}

export const evalCommand: CommandModule<GlobalOptions, EvalArgs> = {
  command: 'eval',
  describe: "score every test record with a model or a baseline, or import an outside model's scores, into a results store (resumable, shardable)",
  builder: (y: Argv<GlobalOptions>) =>
    withEvalOptions(y)
      .example('$0 eval --model ft.gguf --data panel/ --template resume --mode distribution --out results.duckdb', 'every title of every test transition')
      .example('$0 eval --model ft.gguf --data panel/ --mode perplexity --out results.duckdb --name ft-ppl', 'the true titles only (fast)')
      .example('$0 eval --baseline empirical --data panel/ --out results.duckdb', 'a baseline on the same transitions, into the same store')
      .example('$0 eval --model llama-3.1-8b.gguf --data panel/ --template icl-titles --sample 0.1 --context-size 8192 --out icl.duckdb', "the paper's ICL row: 10 examples and the title list, on a 10% sample")
      .example('$0 eval --baseline career --career-model career.gguf --data panel/ --out results.duckdb', 'a trained CAREER model (labor-llm career train)')
      .example('$0 eval --import-scores career.csv --data panel/ --out results.duckdb --name CAREER', "an outside model's log-probs as a run")
      .example('$0 eval --model ft.gguf --data panel/ --shard 3/8 --out r3.duckdb', 'one job of a Slurm array; then labor-llm merge') as unknown as Argv<EvalArgs>, // yargs adds the camelCase keys at run time; its types do not
  handler: async (args) => {
    const split = oneOf('split', args.split, SPLIT_NAMES) as SplitName;
    if (!(Number.isFinite(args.commitInterval) && args.commitInterval >= 0)) {
      throw new InputError(`--commit-interval must be a number of milliseconds >= 0, got ${String(args.commitInterval)}`);
    }
    const opts: EvaluateOptions = {
      data: args.data,
      out: args.out ?? defaultStorePath(args.shard),
      scorer: scorerFromArgs(args),
      split,
      topK: args.topK,
      commitIntervalMs: args.commitInterval,
      laborForce: args.laborForce,
    };
    if (args.shard !== undefined) opts.shard = args.shard;
    if (args.limit !== undefined) opts.limit = args.limit;
    if (args.name !== undefined) opts.name = args.name;
    if (args.sample !== undefined) opts.sample = { fraction: args.sample, seed: args.sampleSeed ?? 0 };
    else if (args.sampleSeed !== undefined) {
      throw new InputError('--sample-seed needs --sample FRACTION (e.g. --sample 0.1)');
    }

    const progress = createProgress(args);
    let step: ReturnType<typeof progress.step> | undefined;
    const result = await withInterrupt((signal) =>
      evaluate(opts, {
        signal,
        onLog: (m) => log(args, m),
        onProgress: (p) => {
          // The bar counts this session's transitions, so its ETA is this session's rate.
          if (!step) step = progress.step(`eval ${p.run}`, p.transitionsTotal - p.transitionsDone, 'transitions');
          step.update(p.transitionsThisSession);
        },
      }),
    );
    step?.done(`${result.workers.scored} workers`);
    if (args.json) {
      printJson(result);
      return;
    }
    const w = result.workers;
    const lines = [
      `run "${result.run}" in ${result.store}: ${w.scored} workers scored this time, ${w.alreadyDone} already done, ` +
        `${w.total} in ${result.shard === '0/1' ? 'the evaluation' : `shard ${result.shard}`} (${result.transitions.total} transitions); ` +
        `${result.complete ? 'complete' : 'INCOMPLETE'} in ${formatDuration(result.seconds)}`,
    ];
    if (result.stats && result.stats.promptTokens > 0) {
      const s = result.stats;
      lines.push(
        `prompt tokens ${s.promptTokens}, of which evaluated ${s.promptTokensEvaluated} (${((100 * s.promptTokensEvaluated) / s.promptTokens).toFixed(1)}%; the rest reused from the cache)`,
      );
    }
    process.stdout.write(`${lines.join('\n')}\n`);
  },
};
