/**
 * `labor-llm career train`: train the CAREER baseline (a transformer over occupation codes, trained
 * natively with ggml) on a panel store's train split, the best epoch on its valid split, into a GGUF
 * file that `labor-llm eval --baseline career --career-model FILE` scores.
 */
import type { Argv, CommandModule } from 'yargs';
import {
  CAREER_COVARIATES,
  CAREER_DEFAULTS,
  DEFAULT_CAREER_COVARIATES,
  trainCareer,
  type CareerProgress,
} from '../../baselines/career/index.js';
import { panelSplitsFromDir } from '../../models/finetune/local/index.js';
import { type ArgsOf, integer } from '../args.js';
import { withInterrupt } from '../interrupt.js';
import { log, printJson, type GlobalOptions } from '../output.js';
import { createProgress, formatDuration, type ProgressStep } from '../progress.js';

function trainBuilder(y: Argv<GlobalOptions>) {
  return y
    .option('data', { type: 'string', demandOption: true, describe: 'panel store folder with train/valid splits (data import / data synth)' })
    .option('out', { type: 'string', demandOption: true, describe: 'GGUF file for the best epoch (lowest validation loss)' })
    .option('force', { type: 'boolean', default: false, describe: 'replace an existing --out file' })
    .option('init', { type: 'string', describe: 'continue training this CAREER model (pretrain on one panel, fine-tune on --data)' })
    .option('layers', { type: 'number', default: CAREER_DEFAULTS.layers, describe: 'transformer blocks' })
    .option('width', { type: 'number', default: CAREER_DEFAULTS.width, describe: 'embedding width' })
    .option('heads', { type: 'number', default: CAREER_DEFAULTS.heads, describe: 'attention heads (divide the width)' })
    .option('ff', { type: 'number', default: CAREER_DEFAULTS.ff, describe: 'feed-forward width' })
    .option('dropout', { type: 'number', default: CAREER_DEFAULTS.dropout, describe: 'dropout after the embeddings, attention and feed-forward' })
    .option('covariates', {
      type: 'string',
      default: DEFAULT_CAREER_COVARIATES.join(','),
      describe: `covariates of each step, comma-separated (${CAREER_COVARIATES.join(', ')})`,
    })
    .option('epochs', { type: 'number', default: CAREER_DEFAULTS.epochs, describe: 'passes over the training workers' })
    .option('batch', { type: 'number', default: CAREER_DEFAULTS.batch, describe: 'workers per optimizer step' })
    .option('lr', { type: 'number', default: CAREER_DEFAULTS.learningRate, describe: 'peak learning rate (warm-up, then inverse square root)' })
    .option('warmup', { type: 'number', describe: 'warm-up steps (default: one epoch, at most 4000)' })
    .option('weight-decay', { type: 'number', default: CAREER_DEFAULTS.weightDecay, describe: 'AdamW decoupled weight decay' })
    .option('seed', { type: 'number', default: 0, describe: 'seed of the initial weights, batch order and dropout' })
    .option('threads', { type: 'number', describe: 'CPU threads (default: all cores; 1 gives bit-identical files)' })
    .example('$0 career train --data panel/ --out career.gguf', "CAREER's architecture and schedule")
    .example('$0 career train --data panel/ --out small.gguf --layers 4 --width 128 --heads 2 --ff 512 --epochs 5 --seed 1 --threads 1', 'a small reproducible model');
}
type TrainArgs = ArgsOf<typeof trainBuilder>;

/** Progress of the whole run as one step (rate-based ETA), a log line per epoch. */
function reporter(args: GlobalOptions, totalSteps: number) {
  const progress = createProgress(args);
  let step: ProgressStep | undefined;
  let done = 0;
  let base = 0;
  return {
    onProgress: (p: CareerProgress): void => {
      if (p.phase === 'train') {
        if (!step) step = progress.step('career train', totalSteps, 'steps');
        done = base + p.step;
        step.update(done);
        if (p.step === p.steps) base = done;
      } else if (p.phase === 'epoch') {
        const val = p.valLoss === null ? 'n/a' : `${p.valLoss.toFixed(4)} (perplexity ${Math.exp(p.valLoss).toFixed(3)})`;
        if (p.epoch === 0) progress.log(`untrained model: validation loss ${val}`);
        else {
          const train = p.trainLoss === null ? 'n/a' : p.trainLoss.toFixed(4);
          progress.log(`epoch ${p.epoch}: train loss ${train}, validation loss ${val}${p.improved ? ' (best so far)' : ''}`);
        }
      }
    },
    done: (summary: string) => step?.done(summary),
  };
}

export const careerTrainCommand: CommandModule<GlobalOptions, TrainArgs> = {
  command: 'train',
  describe: 'train CAREER on the train split (best epoch by validation loss) into a GGUF file',
  builder: trainBuilder,
  handler: async (args) => {
    const splits = await panelSplitsFromDir(args.data);
    if (splits.unassigned > 0) log(args, `${splits.unassigned} workers of ${args.data} have no split and are left out`);
    const epochs = integer('epochs', args.epochs, 0);
    const batch = integer('batch', args.batch, 1);
    const steps = Math.ceil(splits.train.length / batch) * epochs;
    log(args, `training CAREER on ${splits.train.length} workers, validating on ${splits.valid.length} (${args.data})`);
    const rep = reporter(args, steps);
    const result = await withInterrupt((signal) =>
      trainCareer({
        taxonomy: splits.taxonomy,
        train: splits.train,
        valid: splits.valid,
        out: args.out,
        overwrite: args.force,
        ...(args.init !== undefined ? { init: args.init } : {}),
        layers: integer('layers', args.layers, 1),
        width: integer('width', args.width, 2),
        heads: integer('heads', args.heads, 1),
        ff: integer('ff', args.ff, 1),
        dropout: args.dropout,
        covariates: args.covariates.split(',').map((c) => c.trim()).filter(Boolean),
        epochs,
        batch,
        learningRate: args.lr,
        ...(args.warmup !== undefined ? { warmup: integer('warmup', args.warmup, 0) } : {}),
        weightDecay: args.weightDecay,
        seed: integer('seed', args.seed, 0),
        ...(args.threads !== undefined ? { threads: integer('threads', args.threads, 1) } : {}),
        source: args.data,
        onProgress: rep.onProgress,
        signal,
      }),
    );
    rep.done(`best epoch ${result.bestEpoch}`);
    if (args.json) return printJson({ command: 'career train', data: args.data, ...result });
    const c = result.config;
    process.stdout.write(
      `wrote ${result.out}: CAREER ${c.layers} layers, width ${c.width}, ${c.heads} heads, ff ${c.ff} (${result.params} weights); ` +
        `epoch ${result.bestEpoch} of ${result.history.length}, validation perplexity ${Math.exp(result.initialValLoss).toFixed(3)} -> ` +
        `${Math.exp(result.bestValLoss).toFixed(3)}; ${result.trainRecords} training records, ${result.recordsPerSecond.toFixed(0)} records/s, ` +
        `${formatDuration(result.seconds)} on ${result.threads} threads\n`,
    );
  },
};

export const careerCommand: CommandModule<GlobalOptions, GlobalOptions> = {
  command: 'career <command>',
  describe: 'the CAREER baseline: a transformer over occupation codes, trained natively (then: eval --baseline career)',
  builder: (y) =>
    y
      .command(careerTrainCommand)
      .demandCommand(1, 'name a career subcommand: train')
      .example('$0 career train --data panel/ --out career.gguf', 'train CAREER, then: labor-llm eval --baseline career --career-model career.gguf --data panel/'),
  handler: () => undefined,
};
