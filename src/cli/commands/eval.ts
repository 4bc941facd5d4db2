/**
 * `labor-llm eval`: score every transition of a panel's split with an LLM (--model) or a baseline
 * (--baseline) into a results store; resumable (run the same command again) and shardable (--shard i/n,
 * then `labor-llm merge`).
 */
import type { Argv, CommandModule } from 'yargs';
import { InputError } from '../../errors.js';
import { BASELINE_NAMES, type BaselineName, BaselineScorer } from '../../eval/baseline.js';
import { evaluate, type EvaluateOptions } from '../../eval/evaluate.js';
import { ImportedScorer } from '../../eval/imported-scorer.js';
import { EVAL_MODES, type EvalMode } from '../../eval/llm.js';
import { type EngineSettings, ModelScorer, type ModelScorerOptions } from '../../eval/model-scorer.js';
import { CareerScorer } from '../../eval/career.js';
import type { Scorer } from '../../eval/scorer.js';
import { parseShard } from '../../eval/shard.js';
import { SPLIT_NAMES, type SplitName } from '../../io/index.js';
import { TEMPLATE_NAMES } from '../../template/index.js';
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
  kvCache: 'f16' | 'f32';
  flashAttention: 'auto' | 'on' | 'off';
  k: number | undefined;
  iclSeed: number | undefined;
  fullHash: boolean;
  commitInterval: number;
}

/** Default store name: results.duckdb, or results.shard-I-of-N.duckdb for a shard. */
export function defaultStorePath(shard: string | undefined): string {
  if (shard === undefined) return 'results.duckdb';
  const s = parseShard(shard);
  return s.count === 1 ? 'results.duckdb' : `results.shard-${s.index}-of-${s.count}.duckdb`;
}

function choice<T extends string>(name: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw new InputError(`--${name} must be one of ${allowed.join(', ')}, got "${value}"`, { file: '(command line)', field: name });
  }
  return value as T;
}

/** The Scorer the flags ask for: a baseline (--baseline) or a model behind a template (--model). */
function scorerFromArgs(args: EvalArgs): Scorer {
  if (args.importScores !== undefined) return new ImportedScorer(args.importScores);
  if (args.careerModel !== undefined && args.baseline !== 'career') {
    throw new InputError('--career-model goes with --baseline career', { file: '(command line)', field: 'career-model' });
  }
  if (args.baseline === 'career') {
    if (args.careerModel === undefined) {
      throw new InputError('--baseline career scores a trained model: give --career-model FILE (labor-llm career train)', {
        file: '(command line)',
        field: 'career-model',
      });
    }
    return new CareerScorer({ model: args.careerModel, ...(args.threads !== undefined ? { threads: args.threads } : {}) });
  }
  if (args.baseline !== undefined) return new BaselineScorer(choice('baseline', args.baseline, BASELINE_NAMES) as BaselineName);
  const engine: EngineSettings = { kvCache: args.kvCache, flashAttention: args.flashAttention };
  if (args.threads !== undefined) engine.threads = args.threads;
  if (args.contextSize !== undefined) engine.contextSize = args.contextSize;
  if (args.batchSize !== undefined) engine.batchSize = args.batchSize;
  if (args.crossBatch !== undefined) {
    if (!Number.isInteger(args.crossBatch) || args.crossBatch < 1 || args.crossBatch > 16) {
      throw new InputError(`--cross-batch must be an integer in [1, 16], got ${args.crossBatch}`, { file: '(command line)', field: 'cross-batch' });
    }
    engine.crossBatch = args.crossBatch;
  }
  if (args.gpuLayers !== undefined) engine.gpuLayers = args.gpuLayers;
  const options: ModelScorerOptions = {
    model: args.model!,
    template: args.template,
    mode: choice('mode', args.mode, EVAL_MODES) as EvalMode,
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

export const evalCommand: CommandModule<GlobalOptions, EvalArgs> = {
  command: 'eval',
  describe: "score every test record with a model or a baseline, or import an outside model's scores, into a results store (resumable, shardable)",
  builder: (y: Argv<GlobalOptions>) =>
    y
      .option('model', { type: 'string', describe: 'GGUF model file (or use --baseline)' })
      .option('baseline', {
        type: 'string',
        choices: [...BASELINE_NAMES, 'career'],
        describe: 'score a baseline fitted on the train split instead of a model (career: a trained CAREER model, --career-model)',
      })
      .option('career-model', { type: 'string', describe: '--baseline career: the model file (labor-llm career train)' })
      .option('import-scores', {
        type: 'string',
        describe: "store an outside model's per-record log-probs (CSV or Parquet: worker_id, year, log_prob, optional code) as a run",
      })
      .conflicts('model', ['baseline', 'import-scores'])
      .conflicts('baseline', 'import-scores')
      .option('data', { type: 'string', demandOption: true, describe: 'panel store folder (labor-llm data import / synth --out)' })
      .option('template', { type: 'string', default: 'resume', describe: `prompt template: ${TEMPLATE_NAMES.join(', ')}` })
      .option('mode', {
        type: 'string',
        default: 'distribution',
        describe: 'distribution: every title scored per transition; perplexity: the true titles only, one pass per worker',
      })
      .option('split', { type: 'string', default: 'test', describe: `split to evaluate: ${SPLIT_NAMES.join(', ')}` })
      .option('shard', { type: 'string', describe: 'evaluate shard i of n (0-based), e.g. --shard $SLURM_ARRAY_TASK_ID/8' })
      .option('out', { type: 'string', describe: 'results store (default results.duckdb, results.shard-I-of-N.duckdb with --shard)' })
      .option('top-k', { type: 'number', default: 10, describe: 'most probable codes stored per transition' })
      .option('limit', { type: 'number', describe: 'only the first N workers of the split' })
      .option('name', { type: 'string', describe: 'run name in the store (default: model file name, or the baseline)' })
      .option('threads', { type: 'number', describe: 'CPU threads (default: all cores)' })
      .option('context-size', { type: 'number', describe: 'KV cache cells (default 4096): the longest prompt plus a trie chunk' })
      .option('batch-size', { type: 'number', describe: 'tokens per decode (trie chunk size)' })
      .option('cross-batch', { type: 'number', describe: "distribution mode: a worker's transitions scored N at a time in shared decodes (1-16, default 1; for GPUs)" })
      .option('gpu-layers', { type: 'number', describe: 'layers to offload on a GPU build (-1: all)' })
      .option('kv-cache', { choices: ['f16', 'f32'] as const, default: 'f32' as const, describe: 'KV cache precision' })
      .option('flash-attention', { choices: ['auto', 'on', 'off'] as const, default: 'off' as const })
      .option('k', { type: 'number', describe: 'template icl: number of example resumes (default 3)' })
      .option('icl-seed', { type: 'number', describe: 'template icl: seed of the example draw (default 0)' })
      .option('full-hash', { type: 'boolean', default: false, describe: 'identify the model by the sha256 of the whole file (slow)' })
      .option('commit-interval', { type: 'number', default: 1000, describe: 'commit finished workers at least every N ms (a kill loses at most that much work)' })
      .check((a) => {
        if (a.model === undefined && a.baseline === undefined && a.importScores === undefined) {
          throw new Error('give --model FILE, --baseline NAME or --import-scores FILE');
        }
        return true;
      })
      .example('$0 eval --model ft.gguf --data panel/ --template resume --mode distribution --out results.duckdb', 'every title of every test transition')
      .example('$0 eval --model ft.gguf --data panel/ --mode perplexity --out results.duckdb --name ft-ppl', 'the true titles only (fast)')
      .example('$0 eval --baseline empirical --data panel/ --out results.duckdb', 'a baseline on the same transitions, into the same store')
      .example('$0 eval --baseline career --career-model career.gguf --data panel/ --out results.duckdb', 'a trained CAREER model (labor-llm career train)')
      .example('$0 eval --import-scores career.csv --data panel/ --out results.duckdb --name CAREER', "an outside model's log-probs as a run")
      .example('$0 eval --model ft.gguf --data panel/ --shard 3/8 --out r3.duckdb', 'one job of a Slurm array; then labor-llm merge') as unknown as Argv<EvalArgs>, // yargs adds the camelCase keys at run time; its types do not
  handler: async (args) => {
    const split = choice('split', args.split, SPLIT_NAMES) as SplitName;
    const opts: EvaluateOptions = {
      data: args.data,
      out: args.out ?? defaultStorePath(args.shard),
      scorer: scorerFromArgs(args),
      split,
      topK: args.topK,
      commitIntervalMs: args.commitInterval,
    };
    if (args.shard !== undefined) opts.shard = args.shard;
    if (args.limit !== undefined) opts.limit = args.limit;
    if (args.name !== undefined) opts.name = args.name;

    const progress = createProgress(args);
    let step: ReturnType<typeof progress.step> | undefined;
    const controller = new AbortController();
    const onSignal = (): void => controller.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      const result = await evaluate(opts, {
        signal: controller.signal,
        onLog: (m) => log(args, m),
        onProgress: (p) => {
          // The bar counts this session's transitions, so its ETA is this session's rate.
          if (!step) step = progress.step(`eval ${p.run}`, p.transitionsTotal - p.transitionsDone, 'transitions');
          step.update(p.transitionsThisSession);
        },
      });
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
    } finally {
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
    }
  },
};
