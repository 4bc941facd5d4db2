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

export interface NativeTitleSet {
  info(): {
    titles: number;
    titleTokens: number;
    trieNodes: number;
    internalNodes: number;
    maxDepth: number;
    distinctFirstTokens: number;
  };
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

export interface NativeModel {
  info(): NativeModelInfo;
  tokenize(text: string, addSpecial: boolean): Int32Array;
  detokenize(tokens: Int32Array): string;
  tokenPiece(token: number): string;
  createTitleSet(titles: string[]): Promise<NativeTitleSet>;
  scoreTitles(
    prompts: string[],
    set: NativeTitleSet,
    opts: {
      mode: 'trie' | 'sequential' | 'reference' | 'bounded';
      reusePrefix: boolean;
      unsafeSharedSequence?: boolean;
      fullBoundaryCheck?: boolean;
      topK?: number;
      tolerance?: number;
      target?: number;
      boundedBatch?: number;
      crossBatch?: number;
      outputHead?: boolean;
    },
    cancel?: Int32Array,
  ): Promise<{ logProbs: Float64Array; logTotal: number; logTotalUpper: number; stats: NativeStats }[]>;
  scoreSpans(
    text: string,
    spans: Uint32Array,
    cancel?: Int32Array,
  ): Promise<{ logProbs: Float64Array; spanTokens: Int32Array; stats: NativeStats }>;
  throughput(
    tokens: number,
    allLogits: boolean,
    withLogsumexp: boolean,
    head?: boolean,
  ): Promise<{ tokens: number; decodeCalls: number; msDecode: number; msLogsumexp: number }>;
  setLora(adapters: LoraAdapter[]): Promise<LoraAdapter[]>;
  free(): void;
}

export interface NativeAddon {
  loadModel(opts: {
    path: string;
    threads: number;
    contextSize: number;
    batchSize: number;
    gpuLayers: number;
    flashAttention: number;
    useMmap: boolean;
    kvF32: boolean;
    fusedHead?: number;
    lora?: LoraAdapter[];
  }): Promise<NativeModel>;
  systemInfo(): { llama: string; gpuOffload: boolean; maxSequences: number };
}

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
