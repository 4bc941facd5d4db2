/**
 * The occupation-scoring engine for TypeScript: a loaded GGUF model that scores every title of a
 * TitleSet after a prompt, exactly and in one batched pass over the titles' trie.
 *
 * Calls run off the JS thread, are serialised per model (one llama_context each), and take an
 * AbortSignal. Errors are typed: ModelError (cannot load), InputError (bad prompt, titles, spans),
 * EngineError, CancelledError, StateError (freed model).
 */
import { existsSync } from 'node:fs';
import { InputError, ModelError, NotFoundError, StateError } from '../errors.js';
import { validateModelFile } from '../models/gguf/validate.js';
import { cancelFlag, toTypedError } from './native-call.js';
import { loadAddon, type LoraAdapter, type NativeModel, type NativeModelInfo, type NativeStats, type NativeTitleSet } from './native.js';

export type { LoraAdapter } from './native.js';
export { toTypedError } from './native-call.js';

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
  lora?: readonly { path: string; scale?: number }[];
}

/** Checks adapter paths and scales (InputError naming the parameter) and fills in the default scale. */
function loraList(list: readonly { path: string; scale?: number }[]): LoraAdapter[] {
  return list.map((a, i) => {
    if (typeof a.path !== 'string' || a.path === '') throw new InputError(`lora[${i}].path must be a file path`);
    if (!existsSync(a.path)) throw new NotFoundError(`LoRA adapter not found: ${a.path} (lora[${i}].path)`);
    const scale = a.scale ?? 1;
    if (!Number.isFinite(scale)) throw new InputError(`lora[${i}].scale must be a finite number, got ${scale}`);
    return { path: a.path, scale };
  });
}

/**
 * How the titles are evaluated. `trie` is the engine; `bounded` searches the trie best-first and
 * stops early (see ScoreOptions.topK); `sequential` and `reference` are references for tests and
 * benchmarks.
 */
export type ScoreMode = 'trie' | 'bounded' | 'sequential' | 'reference';

export interface ScoreOptions {
  mode?: ScoreMode;
  /** Keep the previous prompt's common prefix in the KV cache (default true). */
  reusePrefix?: boolean;
  signal?: AbortSignal;
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

export type EngineStats = NativeStats;

export interface TitleSetInfo {
  titles: number;
  titleTokens: number;
  trieNodes: number;
  internalNodes: number;
  maxDepth: number;
  distinctFirstTokens: number;
}

/** A fixed list of titles, tokenized once for one model. Each is scored as " " + title + "\n". */
export class TitleSet {
  readonly titles: readonly string[];
  /** @internal */
  readonly native: NativeTitleSet;
  /** @internal */
  readonly owner: Model;

  /** @internal */
  constructor(owner: Model, titles: readonly string[], native: NativeTitleSet) {
    this.owner = owner;
    this.titles = titles;
    this.native = native;
  }

  get size(): number {
    return this.titles.length;
  }

  info(): TitleSetInfo {
    return this.native.info();
  }

  /** Tokens of title i's continuation after a neutral context. */
  tokensOf(index: number): Int32Array {
    return this.native.tokens(index);
  }
}

/** Scores of every title after one prompt. */
export class TitleScores {
  readonly titles: readonly string[];
  /** Raw log P(" " + title + "\n" | prompt), natural log, one per title. */
  readonly logProbs: Float64Array;
  /**
   * log of the total probability the model puts on the title set. In bounded mode, the total over
   * the titles it resolved: a lower bound, with `logTotalUpper` the upper bound.
   */
  readonly logTotal: number;
  readonly logTotalUpper: number;
  readonly stats: EngineStats;

  constructor(titles: readonly string[], logProbs: Float64Array, logTotal: number, stats: EngineStats, logTotalUpper = logTotal) {
    this.titles = titles;
    this.logProbs = logProbs;
    this.logTotal = logTotal;
    this.logTotalUpper = logTotalUpper;
    this.stats = stats;
  }

  /** log P(title | prompt, the answer is one of the titles). */
  normalizedLogProbs(): Float64Array {
    const out = new Float64Array(this.logProbs.length);
    for (let i = 0; i < out.length; i++) out[i] = this.logProbs[i]! - this.logTotal;
    return out;
  }

  /** Title indices sorted by probability, best first (bounded mode: the resolved titles only). */
  ranking(): number[] {
    const idx = Array.from(this.logProbs.keys()).filter((i) => !Number.isNaN(this.logProbs[i]!));
    return idx.sort((a, b) => this.logProbs[b]! - this.logProbs[a]! || a - b);
  }
}

export interface SpanScores {
  /** log P of each span's tokens given the text before it. */
  logProbs: Float64Array;
  /** Number of tokens in each span. */
  spanTokens: Int32Array;
  stats: EngineStats;
}

export interface Throughput {
  tokens: number;
  decodeCalls: number;
  msDecode: number;
  msLogsumexp: number;
}

const FLASH: Record<NonNullable<ModelOptions['flashAttention']>, number> = { auto: -1, off: 0, on: 1 };
const HEAD: Record<NonNullable<ModelOptions['outputHead']>, number> = { auto: -1, off: 0, on: 1 };


/** Integer options in range before they reach C++ (where NaN became 0 and 2^32 wrapped to 0). */
function checkModelOptions(opts: ModelOptions): void {
  const ranges: [keyof ModelOptions, number, number][] = [
    ['threads', 0, 1024],
    ['contextSize', 64, 2 ** 31 - 1],
    ['batchSize', 1, 2 ** 31 - 1],
    ['gpuLayers', -1, 100000],
  ];
  for (const [name, min, max] of ranges) {
    const v = opts[name];
    if (v !== undefined && !(typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max)) {
      throw new InputError(`${name} must be an integer in [${min}, ${max}], got ${String(v)}`);
    }
  }
}

/** NaN log-probs come from NaN or infinite weights (or an overflow they cause): no score is meaningful. */
function nanScores(path: string): ModelError {
  return new ModelError(`${path}: the model computes NaN log-probabilities (its weights hold NaN or infinite values?); it cannot be used for scoring`);
}

export class Model {
  readonly path: string;
  /** What the model was loaded as (`info.lora`: the adapters at load; see `lora` for the current ones). */
  readonly info: NativeModelInfo;
  private native: NativeModel | null;
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(path: string, native: NativeModel) {
    this.path = path;
    this.native = native;
    this.info = native.info();
  }

  /** Loads a GGUF model. Missing, corrupt or unsuitable files reject with ModelError. */
  static async load(path: string, opts: ModelOptions = {}): Promise<Model> {
    checkModelOptions(opts);
    if (!existsSync(path)) throw new NotFoundError(`model file not found: ${path}`);
    // llama.cpp aborts the process on some bad headers: the engine's verdict comes first.
    await validateModelFile(path);
    const lora = loraList(opts.lora ?? []);
    const addon = loadAddon();
    try {
      const native = await addon.loadModel({
        path,
        threads: opts.threads ?? 0,
        contextSize: opts.contextSize ?? 4096,
        batchSize: opts.batchSize ?? 256,
        gpuLayers: opts.gpuLayers ?? 0,
        flashAttention: FLASH[opts.flashAttention ?? 'off'],
        useMmap: opts.useMmap ?? true,
        kvF32: (opts.kvCache ?? 'f32') === 'f32',
        fusedHead: HEAD[opts.outputHead ?? 'auto'],
        lora,
      });
      return new Model(path, native);
    } catch (err) {
      throw toTypedError(err, `cannot load model ${path}`);
    }
  }

  get freed(): boolean {
    return this.native === null;
  }

  private live(): NativeModel {
    if (!this.native) throw new StateError(`the model ${this.path} has been freed`);
    return this.native;
  }

  /** Runs one native call after the previous one on this model has settled. */
  private serialize<T>(run: (n: NativeModel) => Promise<T>, context: string): Promise<T> {
    const next = this.queue.then(
      () => run(this.live()),
      () => run(this.live()),
    );
    this.queue = next.catch(() => undefined);
    return next.catch((err: unknown) => {
      throw toTypedError(err, context);
    });
  }

  tokenize(text: string, opts: { addSpecial?: boolean } = {}): Int32Array {
    try {
      return this.live().tokenize(text, opts.addSpecial ?? false);
    } catch (err) {
      throw toTypedError(err, 'tokenize');
    }
  }

  detokenize(tokens: Int32Array | readonly number[]): string {
    try {
      return this.live().detokenize(tokens instanceof Int32Array ? tokens : Int32Array.from(tokens));
    } catch (err) {
      throw toTypedError(err, 'detokenize');
    }
  }

  tokenPiece(token: number): string {
    try {
      return this.live().tokenPiece(token);
    } catch (err) {
      throw toTypedError(err, 'tokenPiece');
    }
  }

  /** Builds the titles' trie for this model. Empty lists, empty or duplicated titles are InputErrors. */
  async titleSet(titles: readonly string[]): Promise<TitleSet> {
    if (titles.length === 0) throw new InputError('the title list is empty');
    const seen = new Map<string, number>();
    titles.forEach((t, i) => {
      const j = seen.get(t);
      if (j !== undefined) throw new InputError(`the title list has a duplicate: "${t}" at positions ${j} and ${i}`);
      seen.set(t, i);
    });
    const list = [...titles];
    const native = await this.serialize((n) => n.createTitleSet(list), 'cannot build the title set');
    return new TitleSet(this, list, native);
  }

  /** log P of every title after the prompt. The prompt must end right before the title's leading space. */
  async scoreTitles(prompt: string, set: TitleSet, opts: ScoreOptions = {}): Promise<TitleScores> {
    const [r] = await this.scoreTitlesBatch([prompt], set, opts);
    return r!;
  }

  /** Scores many prompts in one native call (prompts sharing a prefix reuse its KV cells). */
  async scoreTitlesBatch(prompts: readonly string[], set: TitleSet, opts: ScoreOptions = {}): Promise<TitleScores[]> {
    if (set.owner !== this) throw new InputError('the title set was built for another model');
    const cancel = cancelFlag(opts.signal);
    const results = await this.serialize(
      (n) =>
        n.scoreTitles(
          [...prompts],
          set.native,
          {
            mode: opts.mode ?? 'trie',
            reusePrefix: opts.reusePrefix ?? true,
            unsafeSharedSequence: opts.unsafeSharedSequence ?? false,
            fullBoundaryCheck: opts.fullBoundaryCheck ?? false,
            ...(opts.topK !== undefined ? { topK: opts.topK } : {}),
            ...(opts.tolerance !== undefined ? { tolerance: opts.tolerance } : {}),
            ...(opts.target !== undefined ? { target: opts.target } : {}),
            ...(opts.boundedBatch !== undefined ? { boundedBatch: opts.boundedBatch } : {}),
            ...(opts.crossBatch !== undefined ? { crossBatch: opts.crossBatch } : {}),
            ...(opts.outputHead !== undefined ? { outputHead: opts.outputHead } : {}),
          },
          cancel.flag,
        ),
      'scoring failed',
    ).finally(cancel.dispose);
    // Bounded mode leaves the titles it never reached NaN by design; its total is NaN only for a broken model.
    const bounded = opts.mode === 'bounded';
    for (const r of results) if (Number.isNaN(r.logTotal) || (!bounded && r.logProbs.some(Number.isNaN))) throw nanScores(this.path);
    return results.map((r) => new TitleScores(set.titles, r.logProbs, r.logTotal, r.stats, r.logTotalUpper));
  }

  /**
   * Teacher-forced scoring: one pass over `text`, returning the log-prob of each [start, end)
   * span (JS string indices). Span boundaries must fall on token boundaries of the whole text.
   */
  async scoreSpans(
    text: string,
    spans: readonly (readonly [number, number])[],
    opts: { signal?: AbortSignal } = {},
  ): Promise<SpanScores> {
    const offsets = utf8Offsets(text, spans);
    const cancel = cancelFlag(opts.signal);
    const r = await this.serialize((n) => n.scoreSpans(text, offsets, cancel.flag), 'span scoring failed').finally(cancel.dispose);
    if (r.logProbs.some(Number.isNaN)) throw nanScores(this.path);
    return r;
  }

  /**
   * Decode throughput on random tokens (the yardstick for the engine's efficiency): llama.cpp's logits,
   * or with `head` the fused output head where the model has one (the engine's own all-logits rate).
   */
  async throughput(
    tokens: number,
    opts: { allLogits?: boolean; withLogsumexp?: boolean; head?: boolean } = {},
  ): Promise<Throughput> {
    return this.serialize(
      (n) => n.throughput(tokens, opts.allLogits ?? true, opts.withLogsumexp ?? false, opts.head ?? false),
      'throughput measurement failed',
    );
  }

  /** The LoRA adapters applied now. */
  get lora(): LoraAdapter[] {
    return this.live().info().lora;
  }

  /**
   * Applies exactly these LoRA adapters (an empty list: the base model), loading any not loaded yet.
   * The base weights stay in memory; adapters once loaded stay loaded, so switching back is cheap.
   * The prompt cache is dropped, since its keys and values came from the previous weights.
   */
  async setLora(adapters: readonly { path: string; scale?: number }[]): Promise<void> {
    const list = loraList(adapters);
    await this.serialize((n) => n.setLora(list), 'cannot apply the LoRA adapters');
  }

  /** Releases the model once every call already queued has finished. Later calls throw StateError. */
  async free(): Promise<void> {
    const native = this.native;
    if (!native) return;
    await this.queue;
    this.native = null;
    native.free();
  }
}


/** JS string indices to UTF-8 byte offsets, as the engine reads the text. */
function utf8Offsets(text: string, spans: readonly (readonly [number, number])[]): Uint32Array {
  const out = new Uint32Array(spans.length * 2);
  const points = [...new Set(spans.flat())].sort((a, b) => a - b);
  const bytes = new Map<number, number>();
  let prev = 0;
  let acc = 0;
  for (const p of points) {
    if (!Number.isInteger(p) || p < 0 || p > text.length) throw new InputError(`span offset ${p} is outside the text`);
    acc += Buffer.byteLength(text.slice(prev, p), 'utf8');
    bytes.set(p, acc);
    prev = p;
  }
  spans.forEach(([s, e], i) => {
    if (!(s < e)) throw new InputError(`span ${i} [${s}, ${e}) is empty or reversed`);
    out[2 * i] = bytes.get(s)!;
    out[2 * i + 1] = bytes.get(e)!;
  });
  return out;
}
