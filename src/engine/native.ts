/**
 * Loads the compiled addon (build/Release/labor_llm.node) through node-gyp-build and types it.
 * Only src/engine talks to this module; everything else uses Model and TitleSet.
 */
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { packageRoot } from '../package.js';
import { EngineError } from '../errors.js';

export interface NativeStats {
  promptTokens: number;
  promptTokensEvaluated: number;
  titleTokens: number;
  trieNodes: number;
  internalNodes: number;
  evaluatedTokens: number;
  decodeCalls: number;
  retokenizedTitles: number;
  /** Trie nodes evaluated: the internal nodes in trie mode; in bounded mode its search's plus any fallback's. */
  evaluatedNodes: number;
  resolvedTitles: number;
  /** Bounded mode: nodes its best-first search evaluated, before a fallback if there was one (0 in other modes). */
  boundedNodes: number;
  /** Bounded mode ran out of sequence ids or KV cells and finished exactly as the full trie. */
  boundedFallback: boolean;
  msTokenize: number;
  msDecode: number;
  msLogsumexp: number;
  /** Output rows whose normaliser came from the fused output head (0 where llama.cpp's logits were used). */
  headRows: number;
}

/** A title set's trie, as the engine built it. */
export interface TitleSetInfo {
  titles: number;
  titleTokens: number;
  trieNodes: number;
  internalNodes: number;
  maxDepth: number;
  distinctFirstTokens: number;
}

export interface NativeTitleSet {
  info(): TitleSetInfo;
  tokens(index: number): Int32Array;
}

export interface NativeModelInfo {
  path: string;
  architecture: string;
  description: string;
  /** "fused" when the engine's modes use the fused output head, else "off: " and why. */
  outputHead: string;
  nVocab: number;
  nCtx: number;
  nBatch: number;
  nCtxTrain: number;
  nEmbd: number;
  nParams: number;
  sizeBytes: number;
  threads: number;
  vocabType: 'spm' | 'bpe' | 'other';
  gpuOffload: boolean;
  /** The LoRA adapters applied now. */
  lora: LoraAdapter[];
}

/** A LoRA adapter GGUF (see `labor-llm model convert --base`) and the scale it is applied with. */
export interface LoraAdapter {
  path: string;
  scale: number;
}

/** Loading a model (native/engine/model.h ModelOptions, but the path). */
export interface ModelOptions {
  /** CPU threads (default: all cores). */
  threads?: number;
  /** KV cache cells: the prompt plus one chunk of trie nodes must fit (default 4096). */
  contextSize?: number;
  /** Tokens per llama_decode: the size of a trie chunk (default 256, the fastest measured on CPU; larger on GPUs). */
  batchSize?: number;
  /** Layers to offload on a CUDA/Metal build; -1 for all (default 0). */
  gpuLayers?: number;
  /** Flash attention: off by default, since on CPU it rounds small micro-batches to f16. */
  flashAttention?: 'auto' | 'on' | 'off';
  useMmap?: boolean;
  /**
   * KV cache precision (default f32; llama.cpp defaults to f16). f32 makes the trie agree with per-title
   * evaluation to ~1e-6 nats: with f16, rounding K/V can turn 1e-7 differences between batch shapes
   * into ~1e-4 nats.
   */
  kvCache?: 'f16' | 'f32';
  /**
   * The fused output head for the engine's modes (trie, bounded, batches, spans): the output layer and
   * the full-vocabulary log-sum-exp computed together from the final hidden states, block by block,
   * without llama.cpp's logits buffer. `auto` (default) uses it on CPU for llama models with f32/f16
   * output weights where the output layer is at least a quarter of the weights (narrow models, where
   * it measured 1.3-1.7x faster; on a 170M model it was a wash) and its f32 copy at most 512 MiB;
   * `on` requires it (InputError where it cannot apply);
   * `off` keeps llama.cpp's logits. The sequential and reference modes always use llama.cpp's logits.
   * Scores agree with llama.cpp's own output layer to ~1e-6 nats (`info.outputHead` says which is used).
   */
  outputHead?: 'auto' | 'on' | 'off';
  /**
   * LoRA adapters (GGUF adapter files, see `labor-llm model convert --base`) applied from the start, with
   * their scales (default 1). `Model.setLora` switches to others without reloading the base.
   */
  lora?: readonly LoraAdapterOptions[];
}

/** A LoRA adapter to apply; `scale` defaults to 1. */
export interface LoraAdapterOptions {
  path: string;
  scale?: number;
}

export interface LoadModelOptions extends ModelOptions {
  path: string;
}

/**
 * How the titles are evaluated. `trie` is the engine; `bounded` searches the trie best-first and
 * stops early (see ScoreOptions.topK); `sequential` and `reference` are references for tests and
 * benchmarks.
 */
export type ScoreMode = 'trie' | 'bounded' | 'sequential' | 'reference';

/** Scoring titles (native/engine/scorer.h ScoreOptions); the library's ScoreOptions add the signal. */
export interface NativeScoreOptions {
  mode?: ScoreMode;
  /** Keep the previous prompt's common prefix in the KV cache (default true). */
  reusePrefix?: boolean;
  /** @internal Negative control for tests: all trie nodes in one sequence, so siblings see each other (wrong). */
  unsafeSharedSequence?: boolean;
  /**
   * Check the prompt/title token boundary against the whole prompt for every title. By default
   * the check runs on the prompt's last line once the prompt's own tokens show that its last
   * newline is a token boundary, which is the same answer at a fraction of the cost.
   */
  fullBoundaryCheck?: boolean;
  /**
   * Bounded mode: stop once the `topK` most probable titles are exact (default 5) and the total
   * probability on the title set is known within `tolerance` nats (default 1e-3), so that every
   * normalized log-prob is within `tolerance` of the full mode's. Titles never reached get NaN.
   */
  topK?: number;
  tolerance?: number;
  /** Bounded mode: a title index that must be scored exactly (the true next title). */
  target?: number;
  /** Bounded mode: frontier nodes per decode (default 64). */
  boundedBatch?: number;
  /**
   * Trie mode in scoreTitlesBatch: this many prompts share every decode, each with 256 / crossBatch
   * sequence ids and batchSize / crossBatch tokens of it (1 to 16; default 1). Same scores; fewer,
   * fuller decodes, which pays on GPUs (a worker's successive prompts add only their new line, and
   * that small decode rides along with the previous prompt's trie). On CPUs it measures as a wash.
   */
  crossBatch?: number;
  /**
   * Use the model's fused output head in this call (default true; see ModelOptions.outputHead). false
   * scores with llama.cpp's logits, as benchmarks do to show the head's share of the speed.
   */
  outputHead?: boolean;
}

/** Measuring decode throughput on random tokens (native/engine/scorer.h ThroughputOptions). */
export interface ThroughputOptions {
  tokens: number;
  /** An output row for every token (default true). */
  allLogits?: boolean;
  /** And its log-sum-exp over the vocabulary (default false). */
  withLogsumexp?: boolean;
  /** Through the fused output head where the model has one: the engine's own all-logits rate (default false). */
  outputHead?: boolean;
}

export interface NativeModel {
  info(): NativeModelInfo;
  tokenize(text: string, addSpecial: boolean): Int32Array;
  detokenize(tokens: Int32Array): string;
  tokenPiece(token: number): string;
  createTitleSet(titles: string[]): Promise<NativeTitleSet>;
  scoreTitles(
    prompts: string[],
    set: NativeTitleSet,
    opts: NativeScoreOptions,
    cancel?: Int32Array,
  ): Promise<{ logProbs: Float64Array; logTotal: number; logTotalUpper: number; stats: NativeStats }[]>;
  scoreSpans(
    text: string,
    spans: Uint32Array,
    cancel?: Int32Array,
  ): Promise<{ logProbs: Float64Array; spanTokens: Int32Array; stats: NativeStats }>;
  throughput(opts: ThroughputOptions): Promise<{ tokens: number; decodeCalls: number; msDecode: number; msLogsumexp: number }>;
  setLora(adapters: readonly LoraAdapterOptions[]): Promise<LoraAdapter[]>;
  free(): void;
}

// Local fine-tuning (native/addon/train.cpp).

/** A local fine-tuning run (native/engine/trainer.h TrainOptions); LocalFinetuneOptions add the callbacks. */
export const LR_DECAYS = ['constant', 'linear', 'cosine'] as const;
export type LrDecay = (typeof LR_DECAYS)[number];

export interface TrainOptions {
  /** GGUF model to start from (llama architecture, f32 weights). */
  model: string;
  /** Training texts (e.g. the training split's resumes). */
  trainTexts: readonly string[];
  /** Validation texts: their loss picks the best epoch. */
  validTexts: readonly string[];
  /** Where the best checkpoint is written (GGUF). */
  out: string;
  /** Passes over the training windows (default 3). */
  epochs?: number;
  /** AdamW learning rate: the schedule's peak (default 1e-3). */
  learningRate?: number;
  /**
   * Learning-rate schedule after the warm-up (default 'constant'): 'linear' or 'cosine' decay from
   * `learningRate` to `learningRate * minLrRatio` over the run's epochs x windows steps
   * (native/engine/lr_schedule.h has the formulas).
   */
  lrDecay?: LrDecay;
  /** Share of the run's steps (epochs x windows, rounded) of linear warm-up from 0 to `learningRate`, in [0, 1) (default 0). */
  warmupRatio?: number;
  /** 'linear' and 'cosine': the final rate as a share of `learningRate`, in [0, 1] (default 0). */
  minLrRatio?: number;
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
}

/** A window of an epoch's training or validation pass is done. `loss` is the running mean of the pass. */
export interface WindowProgress {
  phase: 'train' | 'validate';
  /** 1-based; 0 is the validation of the untrained model. */
  epoch: number;
  window: number;
  windows: number;
  loss: number | null;
  /** Training windows: the learning rate of the window's optimizer step. */
  lr?: number;
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

// The CAREER baseline (native/addon/career.cpp).

/** Encoded workers, as the native CAREER trainer and scorer take them. */
export interface CareerData {
  codes: Int32Array;
  covs: Int32Array;
  lengths: Int32Array;
}

/** The shape of a CAREER model; the defaults are CAREER's. */
export interface CareerShape {
  /** Transformer blocks, 1 to 64 (default 12). */
  layers: number;
  /** Embedding width, even, 2 to 4096 (default 192). */
  width: number;
  /** Attention heads, dividing the width (default 3). */
  heads: number;
  /** Feed-forward width, 1 to 65536 (default 768). */
  ff: number;
}

export interface NativeCareerConfig extends CareerShape {
  nCodes: number;
  covariateNames: string[];
  covariateSizes: number[];
}

/** A batch of a training epoch is done; `loss` is the epoch's running mean NLL per record (nats). */
export interface CareerStepProgress {
  phase: 'train';
  epoch: number;
  step: number;
  steps: number;
  loss: number | null;
  lr: number;
  elapsedMs: number;
}
/** The validation pass of an epoch starts (epoch 0: the untrained model). */
export interface CareerValidateProgress {
  phase: 'validate';
  epoch: number;
  elapsedMs: number;
}
/** An epoch is done; the same event as local fine-tuning's (both come from one writer, native/addon/worker.h). */
export type CareerEpochProgress = EpochProgress;
export type CareerProgress = CareerStepProgress | CareerValidateProgress | CareerEpochProgress;

export interface CareerEpochRecord {
  epoch: number;
  /** Mean NLL per training record of the epoch (nats, with dropout, as trained). */
  trainLoss: number;
  /** Mean NLL per validation record after the epoch (nats, no dropout). */
  valLoss: number;
  seconds: number;
  trainSeconds: number;
  trainRecords: number;
  improved: boolean;
}

export interface NativeCareerTrainResult {
  out: string;
  bestEpoch: number;
  bestValLoss: number;
  initialValLoss: number;
  history: CareerEpochRecord[];
  trainWorkers: number;
  validWorkers: number;
  trainRecords: number;
  validRecords: number;
  params: number;
  steps: number;
  warmup: number;
  threads: number;
  seconds: number;
  config: NativeCareerConfig;
}

/**
 * A CAREER training run (native/engine/career_trainer.h TrainOptions, the shape's keys at the top
 * level); trainCareer builds it from a panel. Defaults are CAREER's (fairseq architecture `career`).
 */
export interface NativeCareerTrainOptions extends Partial<CareerShape> {
  nCodes: number;
  covariateNames: readonly string[];
  covariateSizes: readonly number[];
  /** Continue training this CAREER model (its shape and vocabularies) instead of a new one. */
  init?: string;
  /** Where the best epoch's model is written (GGUF, architecture "career"). */
  out: string;
  train: CareerData;
  valid: CareerData;
  /** Written into the file besides the hyperparameters. */
  meta?: Record<string, string | readonly string[] | number>;
  /** Passes over the training workers; 0 writes the initial weights (default 10). */
  epochs?: number;
  /** Workers per optimizer step (default 32). */
  batch?: number;
  /** Peak learning rate, in (0, 1]: linear warm-up, then inverse square root (default 5e-4). */
  learningRate?: number;
  /** Warm-up steps (default: one epoch's steps, at most 4000). */
  warmup?: number;
  /** AdamW decoupled weight decay in [0, 1] (default 0.01). */
  weightDecay?: number;
  /** Dropout after the embeddings, attention and feed-forward, in [0, 1) (default 0.1). */
  dropout?: number;
  seed?: number;
  /** CPU threads (default all; 1 gives bit-identical files for a seed). */
  threads?: number;
  /** Stop every epoch after this many steps (tests). */
  maxSteps?: number;
}

export interface NativeCareerModel {
  info(): { config: NativeCareerConfig; params: number; threads: number; meta: Record<string, unknown> };
  /** Per record, the log-probability of every code; `batch` workers per pass (default 64). */
  logProbs(data: CareerData, batch?: number, cancel?: Int32Array): Promise<Float32Array>;
  free(): void;
}

/**
 * The addon (native/addon/*.cpp). Each options object is read through its C++ struct's table, which
 * holds the defaults and ranges; `optionKeys` lists the keys each table reads, and
 * test/engine/addon-declaration.test.ts holds this declaration to them.
 */
export interface NativeAddon {
  loadModel(opts: LoadModelOptions): Promise<NativeModel>;
  systemInfo(): { llama: string; gpuOffload: boolean; maxSequences: number };
  train(opts: TrainOptions, onProgress?: (p: LocalFinetuneProgress) => void, cancel?: Int32Array): Promise<LocalFinetuneResult>;
  careerTrain(
    opts: NativeCareerTrainOptions,
    onProgress?: (p: CareerProgress) => void,
    cancel?: Int32Array,
  ): Promise<NativeCareerTrainResult>;
  careerLoad(path: string, threads?: number): NativeCareerModel;
  optionKeys: Record<OptionsName, string[]>;
  /** Each options object with every key at its default (career data and metadata left out). */
  optionDefaults: Record<Exclude<OptionsName, 'loraAdapter'>, Record<string, unknown>>;
}

/** The options objects whose keys the addon lists. */
export type OptionsName = 'loadModel' | 'loraAdapter' | 'scoreTitles' | 'throughput' | 'train' | 'careerTrain';

let addon: NativeAddon | null = null;

export function loadAddon(): NativeAddon {
  if (addon) return addon;
  const require = createRequire(import.meta.url);
  const root = packageRoot();
  // LABOR_LLM_ADDON points at another build of the addon (a CUDA build, a build folder of one's own).
  const override = process.env.LABOR_LLM_ADDON;
  try {
    if (override) {
      addon = require(resolve(override)) as NativeAddon;
      return addon;
    }
    const nodeGypBuild = require('node-gyp-build') as (dir: string) => unknown;
    addon = nodeGypBuild(root) as NativeAddon;
  } catch (err) {
    throw new EngineError(
      `the native engine is not built (${(err as Error).message}); run \`npm install\` or \`npm run build:native\``,
      { cause: err },
    );
  }
  return addon;
}
