/**
 * Local fine-tuning: full-parameter AdamW training of every weight of a small llama-architecture GGUF
 * model on template texts, inside the native addon (native/engine/trainer.*: our own llama training
 * graph over ggml's optimizer; docs/finetune-local.md says why not llama.cpp's training API).
 *
 * What happens (details in native/engine/trainer.h):
 * - each text is tokenized with BOS and the texts of a split are concatenated into one token stream,
 *   cut into windows of `contextLength` tokens (+1 for the labels); one window is one optimizer step;
 * - every epoch visits the training windows in an order drawn from `seed`, then computes the
 *   validation loss (mean next-token cross-entropy, nats per token) on the validation windows;
 * - the weights of the epoch with the lowest validation loss are written to `out` as a GGUF with the
 *   input model's metadata; `out` appears (by rename) only when the run completes;
 * - every weight trains: token embeddings, Q/K/V/output projections, feed-forward, norms, output layer
 *   (only RoPE frequency factors, where a file has them, are constants);
 * - one thread and one seed give bit-identical weights.
 *
 * The model must be llama architecture with f32 weights throughout: anything else is a ModelError,
 * raised before any training (llama.cpp's backward pass aborts the process on other tensor types).
 */
import { existsSync, statSync } from 'node:fs';
import { CancelledError, EngineError, InputError, NotFoundError } from '../../../errors.js';
import { validateModelFile } from '../../gguf/validate.js';
import { callWithProgress } from '../../../engine/native-call.js';
import { loadAddon } from '../../../engine/native.js';

export interface LocalFinetuneOptions {
  /** GGUF model to start from (llama architecture, f32 weights). */
  model: string;
  /** Training texts (e.g. the training split's resumes). */
  trainTexts: readonly string[];
  /** Validation texts: their loss picks the best epoch. */
  validTexts: readonly string[];
  /** Where the best checkpoint is written (GGUF). */
  out: string;
  /** Replace an existing `out` (default false). */
  overwrite?: boolean;
  /** Passes over the training windows (default 3). */
  epochs?: number;
  /** AdamW learning rate, constant (default 1e-3). */
  learningRate?: number;
  /** AdamW decoupled weight decay in [0, 1] (default 0). */
  weightDecay?: number;
  /** Tokens per training window, 16 to 4096 (default 256). */
  contextLength?: number;
  /** Seed of the order of the training windows (default 0). */
  seed?: number;
  /** CPU threads (default: all cores). Use 1 for bit-identical reruns. */
  threads?: number;
  /** Non-zero: train on the GPU of a CUDA/Metal build (default 0: CPU). */
  gpuLayers?: number;
  onProgress?: (p: LocalFinetuneProgress) => void;
  signal?: AbortSignal;
}

/** A window of an epoch's training or validation pass is done. `loss` is the running mean of the pass. */
export interface WindowProgress {
  phase: 'train' | 'validate';
  /** 1-based; 0 is the validation of the untrained model. */
  epoch: number;
  window: number;
  windows: number;
  loss: number | null;
  elapsedMs: number;
}

/** An epoch is done (epoch 0: the untrained model's validation loss). */
export interface EpochProgress {
  phase: 'epoch';
  epoch: number;
  /** Mean training loss of the epoch; null for epoch 0. */
  trainLoss: number | null;
  valLoss: number | null;
  /** Lowest validation loss so far: this epoch's weights are the checkpoint. */
  improved: boolean;
  elapsedMs: number;
}

export type LocalFinetuneProgress = WindowProgress | EpochProgress;

export interface EpochRecord {
  epoch: number;
  /** Mean next-token cross-entropy (nats per token) over the epoch's training windows, as trained. */
  trainLoss: number;
  /** The same on the validation windows after the epoch. */
  valLoss: number;
  /** Share of validation tokens that are the model's most probable token. */
  valAccuracy: number;
  seconds: number;
  improved: boolean;
}

export interface LocalFinetuneResult {
  out: string;
  /** The epoch whose weights are in `out`. */
  bestEpoch: number;
  bestValLoss: number;
  /** Validation loss and accuracy of the model before training. */
  initialValLoss: number;
  initialValAccuracy: number;
  history: EpochRecord[];
  trainTexts: number;
  validTexts: number;
  trainTokens: number;
  validTokens: number;
  trainWindows: number;
  validWindows: number;
  contextLength: number;
  /** Parameters updated by training (every weight but RoPE frequency factors). */
  trainableParams: number;
  threads: number;
  seconds: number;
}

interface NativeTrainOptions {
  model: string;
  out: string;
  trainTexts: string[];
  validTexts: string[];
  epochs: number;
  contextLength: number;
  learningRate: number;
  weightDecay: number;
  seed: number;
  threads: number;
  gpuLayers: number;
}

interface TrainAddon {
  train(
    opts: NativeTrainOptions,
    onProgress: (p: LocalFinetuneProgress) => void,
    cancel?: Int32Array,
  ): Promise<LocalFinetuneResult>;
}

function trainAddon(): TrainAddon {
  const addon = loadAddon() as unknown as Partial<TrainAddon>;
  if (typeof addon.train !== 'function') {
    throw new EngineError('this build of the native addon has no trainer: rebuild it (npm run build:native)');
  }
  return addon as TrainAddon;
}

function integerOption(name: string, value: number | undefined, def: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const v = value ?? def;
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new InputError(`${name} must be an integer in [${min}, ${max}], got ${String(value)}`);
  }
  return v;
}

function textList(name: string, texts: readonly string[]): string[] {
  if (!Array.isArray(texts)) throw new InputError(`${name} must be an array of strings`);
  if (texts.length === 0) throw new InputError(`${name} is empty: there is nothing to ${name === 'trainTexts' ? 'train on' : 'validate on'}`);
  texts.forEach((t, i) => {
    if (typeof t !== 'string') throw new InputError(`${name}[${i}] is not a string`);
    if (t.length === 0) throw new InputError(`${name}[${i}] is an empty text`);
  });
  return [...texts];
}

/** Fine-tunes `model` on the texts and writes the best epoch's weights to `out`. */
export async function finetuneLocal(opts: LocalFinetuneOptions): Promise<LocalFinetuneResult> {
  const trainTexts = textList('trainTexts', opts.trainTexts);
  const validTexts = textList('validTexts', opts.validTexts);
  const epochs = integerOption('epochs', opts.epochs, 3, 1, 100000);
  const contextLength = integerOption('contextLength', opts.contextLength, 256, 16, 4096);
  const learningRate = opts.learningRate ?? 1e-3;
  if (!(Number.isFinite(learningRate) && learningRate > 0 && learningRate <= 1)) {
    throw new InputError(`learningRate must be in (0, 1], got ${String(opts.learningRate)}`);
  }
  const weightDecay = opts.weightDecay ?? 0;
  if (!(weightDecay >= 0 && weightDecay <= 1)) throw new InputError(`weightDecay must be in [0, 1], got ${String(opts.weightDecay)}`);
  const seed = integerOption('seed', opts.seed, 0, 0);
  const threads = integerOption('threads', opts.threads, 0, 0, 1024);
  const gpuLayers = integerOption('gpuLayers', opts.gpuLayers, 0, -1);
  if (typeof opts.out !== 'string' || opts.out.length === 0) throw new InputError('out must be a file path');
  if (existsSync(opts.out)) {
    if (statSync(opts.out).isDirectory()) throw new InputError(`the output ${opts.out} is a folder`);
    if (!opts.overwrite) throw new InputError(`the output ${opts.out} exists (pass overwrite: true, or --force, to replace it)`);
  }
  if (!existsSync(opts.model)) throw new NotFoundError(`model file not found: ${opts.model}`);
  // llama.cpp aborts the process on some bad headers: the engine's verdict comes first.
  await validateModelFile(opts.model);
  const addon = trainAddon();
  if (opts.signal?.aborted) throw new CancelledError();

  return callWithProgress(opts.signal, opts.onProgress, 'local fine-tuning failed', (onProgress, cancel) =>
    addon.train(
      {
        model: opts.model,
        out: opts.out,
        trainTexts,
        validTexts,
        epochs,
        contextLength,
        learningRate,
        weightDecay,
        seed,
        threads,
        gpuLayers,
      },
      onProgress,
      cancel,
    ),
  );
}
