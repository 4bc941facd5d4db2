/**
 * `labor-llm finetune local`: fine-tune a small llama GGUF model on this machine with llama.cpp's
 * training API, on the template texts of a panel's train split (validation loss on its valid split
 * picks the best epoch, written to --out).
 */
import { SingleBar } from 'cli-progress';
import type { Argv, CommandModule } from 'yargs';
import { InputError } from '../../errors.js';
import {
  finetuneLocal,
  finetuneTexts,
  LR_DECAYS,
  panelSplitsFromDir,
  panelSplitsFromSynth,
  type LocalFinetuneProgress,
  type PanelSplits,
} from '../../models/finetune/local/index.js';
import { PROFILE_NAMES } from '../../data/synth/index.js';
import { numberTaxonomy } from '../../data/taxonomy/taxonomy.js';
import { getTemplate, needsExamplePool, TEMPLATE_NAMES } from '../../data/template/index.js';
import { type ArgsOf, integer } from '../args.js';
import { withInterrupt } from '../interrupt.js';
import { log, printJson, type GlobalOptions } from '../output.js';

// The in-context templates need a pool of example workers and make texts of several workers: not fine-tuning texts.
const LOCAL_TEMPLATES = TEMPLATE_NAMES.filter((t) => !needsExamplePool(t));

function localBuilder(y: Argv<GlobalOptions>) {
  return y
    .option('model', { type: 'string', demandOption: true, describe: 'GGUF model to fine-tune (llama architecture, f32 weights)' })
    .option('data', { type: 'string', describe: 'panel store folder (from data import / data synth): trains on its train split' })
    .option('synth', { choices: PROFILE_NAMES, describe: 'instead of --data: a synthetic panel of this survey profile' })
    .option('workers', { type: 'number', default: 300, describe: '--synth: number of workers' })
    .option('synth-seed', { type: 'number', default: 0, describe: '--synth: seed of the panel (and of its 70/10/20 split)' })
    .option('template', { choices: LOCAL_TEMPLATES, default: 'resume' as const, describe: 'template of the training texts' })
    .option('numbered-seed', { type: 'number', describe: 'titles of the numbered taxonomy variant with this seed' })
    .option('max-train', { type: 'number', describe: 'use at most this many training workers' })
    .option('max-valid', { type: 'number', describe: 'use at most this many validation workers' })
    .option('out', { type: 'string', demandOption: true, describe: 'GGUF file for the best checkpoint (lowest validation loss)' })
    .option('force', { type: 'boolean', default: false, describe: 'replace an existing --out file' })
    .option('epochs', { type: 'number', default: 3, describe: 'passes over the training windows' })
    .option('lr', { type: 'number', default: 1e-3, describe: 'AdamW learning rate (the peak of the schedule)' })
    .option('lr-decay', { choices: LR_DECAYS, default: 'constant' as const, describe: 'after the warm-up: constant, or linear / cosine decay to --lr x --min-lr-ratio at the last step' })
    .option('warmup-ratio', { type: 'number', default: 0, describe: 'share of the run\'s steps (epochs x windows) of linear warm-up from 0 to --lr, in [0, 1)' })
    .option('min-lr-ratio', { type: 'number', default: 0, describe: 'linear / cosine: the final learning rate as a share of --lr, in [0, 1]' })
    .option('weight-decay', { type: 'number', default: 0, describe: 'AdamW decoupled weight decay, in [0, 1]' })
    .option('context-length', { type: 'number', default: 256, describe: 'tokens per training window (16 to 4096)' })
    .option('seed', { type: 'number', default: 0, describe: 'seed of the order of the training windows' })
    .option('threads', { type: 'number', describe: 'CPU threads (default: all cores; 1 gives bit-identical reruns)' })
    .option('gpu-layers', { type: 'number', default: 0, describe: 'non-zero: train on the GPU of a CUDA/Metal build' })
    .example('$0 finetune local --model tiny-f32.gguf --synth nlsy79 --workers 200 --out tuned.gguf --epochs 2', 'a quick run on a synthetic panel')
    .example('$0 finetune local --model m.gguf --data panels/nlsy79 --out m-ft.gguf --epochs 3 --lr 5e-4 --seed 1 --threads 1 --json', 'a reproducible run on a panel store');
}

type LocalArgs = ArgsOf<typeof localBuilder>;

/** A bar per training pass on stderr (not with --quiet or --json), a line per epoch. */
function progressReporter(args: GlobalOptions): { onProgress: (p: LocalFinetuneProgress) => void; stop: () => void } {
  const quiet = args.quiet || args.json;
  let bar: SingleBar | undefined;
  const stop = (): void => {
    bar?.stop();
    bar = undefined;
  };
  return {
    onProgress: (p) => {
      if (p.phase === 'epoch') {
        stop();
        const val = p.valLoss === null ? 'n/a' : p.valLoss.toFixed(4);
        if (p.epoch === 0) log(args, `untrained model: validation loss ${val} nats/token`);
        else {
          const train = p.trainLoss === null ? 'n/a' : p.trainLoss.toFixed(4);
          log(args, `epoch ${p.epoch}: train loss ${train}, validation loss ${val}${p.improved ? ' (best so far: checkpoint kept)' : ''}`);
        }
        return;
      }
      if (quiet || p.phase !== 'train') return;
      if (bar === undefined) {
        bar = new SingleBar({
          format: `epoch ${p.epoch} [{bar}] {value}/{total} windows | loss {loss}`,
          stream: process.stderr,
          hideCursor: true,
          fps: 5,
        });
        bar.start(p.windows, 0, { loss: '-' });
      }
      bar.update(p.window, { loss: p.loss === null ? '-' : p.loss.toFixed(4) });
      if (p.window === p.windows) stop();
    },
    stop,
  };
}

export const finetuneLocalCommand: CommandModule<GlobalOptions, LocalArgs> = {
  command: 'local',
  describe: 'fine-tune a small llama GGUF model on this machine (llama.cpp training API): best epoch by validation loss',
  builder: localBuilder,
  handler: async (args) => {
    if ((args.data === undefined) === (args.synth === undefined)) {
      throw new InputError('name the training panel with exactly one of --data PANEL_DIR or --synth PROFILE');
    }
    let splits: PanelSplits;
    let source: string;
    if (args.data !== undefined) {
      splits = await panelSplitsFromDir(args.data);
      source = args.data;
      if (splits.unassigned > 0) log(args, `${splits.unassigned} workers of ${args.data} have no split and are left out`);
    } else {
      const workers = integer('workers', args.workers, 1);
      const seed = integer('synth-seed', args.synthSeed, 0);
      splits = panelSplitsFromSynth({ profile: String(args.synth), workers, seed });
      source = `synthetic ${String(args.synth)} panel (${workers} workers, seed ${seed})`;
    }
    const taxonomy = args.numberedSeed === undefined ? splits.taxonomy : numberTaxonomy(splits.taxonomy, integer('numbered-seed', args.numberedSeed, 0));
    const template = getTemplate(args.template, { taxonomy });
    const texts = finetuneTexts(splits, template, {
      source,
      ...(args.maxTrain !== undefined ? { maxTrain: integer('max-train', args.maxTrain, 1) } : {}),
      ...(args.maxValid !== undefined ? { maxValid: integer('max-valid', args.maxValid, 1) } : {}),
    });
    log(args, `training on ${texts.trainTexts.length} ${args.template} texts, validating on ${texts.validTexts.length} (${source})`);

    const reporter = progressReporter(args);
    try {
      const result = await withInterrupt((signal) =>
        finetuneLocal({
          model: args.model,
          out: args.out,
          overwrite: args.force,
          ...texts,
          epochs: integer('epochs', args.epochs, 1),
          learningRate: args.lr,
          lrDecay: args.lrDecay,
          // Ranges are the trainer's (native/engine/trainer.h); its refusal names the flag (src/cli/flags.ts).
          warmupRatio: args.warmupRatio,
          minLrRatio: args.minLrRatio,
          weightDecay: args.weightDecay,
          contextLength: integer('context-length', args.contextLength, 1),
          seed: integer('seed', args.seed, 0),
          ...(args.threads !== undefined ? { threads: integer('threads', args.threads, 1) } : {}),
          gpuLayers: integer('gpu-layers', args.gpuLayers, -1),
          onProgress: reporter.onProgress,
          signal,
        }),
      );
      reporter.stop();
      const summary = {
        command: 'finetune local',
        model: args.model,
        data: source,
        template: args.template,
        epochs: args.epochs,
        learningRate: args.lr,
        lrDecay: args.lrDecay,
        warmupRatio: args.warmupRatio,
        minLrRatio: args.minLrRatio,
        weightDecay: args.weightDecay,
        seed: args.seed,
        ...result,
      };
      if (args.json) return printJson(summary);
      process.stdout.write(
        `wrote ${result.out}: epoch ${result.bestEpoch} of ${result.history.length}, validation loss ` +
          `${result.initialValLoss.toFixed(4)} -> ${result.bestValLoss.toFixed(4)} nats/token ` +
          `(${result.trainTokens} training tokens in ${result.trainWindows} windows of ${result.contextLength}, ` +
          `${result.trainableParams} parameters trained, ${result.seconds.toFixed(1)} s on ${result.threads} threads)\n`,
      );
    } finally {
      reporter.stop();
    }
  },
};
