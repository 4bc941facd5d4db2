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
import {
  loadAddon,
  type LoraAdapter,
  type LoraAdapterOptions,
  type ModelOptions,
  type NativeModel,
  type NativeModelInfo,
  type NativeScoreOptions,
  type NativeStats,
  type NativeTitleSet,
  type ThroughputOptions,
  type TitleSetInfo,
} from './native.js';

export type { LoraAdapter, LoraAdapterOptions, ModelOptions, NativeScoreOptions, ScoreMode, ThroughputOptions } from './native.js';
export { toTypedError } from './native-call.js';

/** NotFoundError for an adapter file that is not there (the engine's own message would be an InputError). */
function checkLoraFiles(list: readonly LoraAdapterOptions[]): void {
  list.forEach((a, i) => {
    if (typeof a.path === 'string' && a.path !== '' && !existsSync(a.path)) throw new NotFoundError(`LoRA adapter not found: ${a.path} (lora[${i}].path)`);
  });
}

export interface ScoreOptions extends NativeScoreOptions {
  signal?: AbortSignal;
}

export type EngineStats = NativeStats;

export type { TitleSetInfo };

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
    if (!existsSync(path)) throw new NotFoundError(`model file not found: ${path}`);
    // llama.cpp aborts the process on some bad headers: the engine's verdict comes first.
    await validateModelFile(path);
    checkLoraFiles(opts.lora ?? []);
    const addon = loadAddon();
    try {
      return new Model(path, await addon.loadModel({ ...opts, path }));
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
    const { signal, ...native } = opts;
    const cancel = cancelFlag(signal);
    const results = await this.serialize((n) => n.scoreTitles([...prompts], set.native, native, cancel.flag), 'scoring failed').finally(
      cancel.dispose,
    );
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
   * or with `outputHead` the fused output head where the model has one (the engine's own all-logits rate).
   */
  async throughput(tokens: number, opts: Omit<ThroughputOptions, 'tokens'> = {}): Promise<Throughput> {
    return this.serialize((n) => n.throughput({ ...opts, tokens }), 'throughput measurement failed');
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
  async setLora(adapters: readonly LoraAdapterOptions[]): Promise<void> {
    checkLoraFiles(adapters);
    await this.serialize((n) => n.setLora(adapters), 'cannot apply the LoRA adapters');
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
