/**
 * ModelScorer: an LLM (a GGUF file) behind a prompt template, as a Scorer. Its run identity is the
 * model's fingerprint, the template and its options, the mode, and the engine settings that change
 * the numbers (KV cache precision, flash attention); the others (threads, batch sizes) only change
 * speed and are recorded per session.
 */
import { basename, extname, resolve } from 'node:path';
import { Model, type ModelOptions, type ScoreOptions } from '../engine/model.js';
import { InputError, ParameterError } from '../errors.js';
import type { Worker } from '../data/panel/types.js';
import type { JsonObject, StoredResult } from '../results/types.js';
import { packageVersion } from '../package.js';
import { getTemplate, ICL_DEFAULT_K, needsExamplePool, type Template } from '../data/template/index.js';
import { checkPromptContext } from './context-check.js';
import type { EvalDataset } from './dataset.js';
import { modelFingerprint } from './fingerprint.js';
import { checkTitlesExpressible, EVAL_MODES, type EvalMode, LlmScorer, type ScoringStats } from './llm.js';
import { sampledPrompts } from './sample.js';
import type { RunIdentity, Scorer, ScorerContext, ScorerFacts } from './scorer.js';

/** Engine settings. kvCache and flashAttention change the numbers and are part of a run's identity; the
 * others only change speed (and float rounding) and are recorded per session, not compared. */
export interface EngineSettings
  extends Pick<ModelOptions, 'threads' | 'contextSize' | 'batchSize' | 'gpuLayers' | 'kvCache' | 'flashAttention'>,
    Pick<ScoreOptions, 'crossBatch'> {
  /** LoRA adapter GGUFs applied at load; part of the run's identity (by content and scale). */
  lora?: { path: string; scale: number }[];
}

export interface ModelScorerOptions {
  /** GGUF file. */
  model: string;
  /** Template name (see TEMPLATE_NAMES). */
  template: string;
  mode: EvalMode;
  engine?: EngineSettings;
  /** Templates `icl`, `icl-titles`: number of example workers and seed of their draw. */
  icl?: { k?: number; seed?: number };
  /** Hash the whole model file instead of a sample (slow for big models). */
  fullHash?: boolean;
}

export class ModelScorer implements Scorer {
  readonly defaultRunName: string;
  private template: Template | null = null;
  private model: Model | null = null;
  private scorer: LlmScorer | null = null;

  constructor(readonly options: ModelScorerOptions) {
    if (!EVAL_MODES.includes(options.mode)) {
      throw new ParameterError('mode', `\`mode\` must be one of ${EVAL_MODES.join(', ')}, got "${String(options.mode)}"`);
    }
    const file = basename(options.model);
    this.defaultRunName = extname(file).toLowerCase() === '.gguf' ? file.slice(0, -5) : file;
  }

  async identify(ctx: ScorerContext): Promise<RunIdentity> {
    const o = this.options;
    this.template = templateFor(o, ctx.dataset);
    const fp = await modelFingerprint(o.model, { full: o.fullHash ?? false });
    const engine = o.engine ?? {};
    const config: JsonObject = {
      kind: 'model',
      model: { file: fp.file, size: fp.size, sha256: fp.sha256 },
      template: o.template,
      templateOptions: needsExamplePool(o.template) ? { k: o.icl?.k ?? ICL_DEFAULT_K, seed: o.icl?.seed ?? 0 } : {},
      mode: o.mode,
      topK: o.mode === 'distribution' ? ctx.topK : null,
      engine: { kvCache: engine.kvCache ?? 'f32', flashAttention: engine.flashAttention ?? 'off' },
      // Only when set, so that runs without adapters keep their identity.
      ...(engine.lora?.length ? { lora: await loraIdentity(engine.lora) } : {}),
      labor_llm: packageVersion(),
    };
    return { kind: 'model', config };
  }

  /** Loads the model and checks that it can express every title (ModelError otherwise). */
  async start(ctx: ScorerContext): Promise<ScorerFacts> {
    const o = this.options;
    const template = this.template ?? templateFor(o, ctx.dataset);
    const taxonomy = ctx.dataset.store.taxonomy;
    const engine = o.engine ?? {};
    const { threads, contextSize, batchSize, gpuLayers, kvCache, flashAttention, lora } = engine;
    const model = await Model.load(o.model, { threads, contextSize, batchSize, gpuLayers, kvCache, flashAttention, lora });
    this.model = model;
    try {
      checkTitlesExpressible(model, taxonomy.titles());
      checkPromptContext(model, template, ctx.dataset.workers, taxonomy.titles(), ctx.log);
      const titleSet = await model.titleSet(taxonomy.titles());
      this.scorer = new LlmScorer({
        model,
        titleSet,
        taxonomy,
        // With --sample, distribution mode scores the sampled records' prompts only.
        template: ctx.dataset.sample ? sampledPrompts(template, ctx.dataset.sample) : template,
        mode: o.mode,
        topK: ctx.topK,
        notInLaborForce: ctx.notInLaborForce,
        ...(engine.crossBatch !== undefined ? { crossBatch: engine.crossBatch } : {}),
      });
    } catch (err) {
      await this.free();
      throw err;
    }
    return { info: { model: model.info.description, modelPath: resolve(o.model) }, session: engine as JsonObject };
  }

  scoreWorker(worker: Worker, signal?: AbortSignal): Promise<StoredResult[]> {
    if (!this.scorer || !this.model) throw new Error('ModelScorer.scoreWorker called outside start() ... free()');
    return this.scorer.scoreWorker(worker, signal);
  }

  stats(): ScoringStats | null {
    return this.scorer?.stats ?? null;
  }

  async free(): Promise<void> {
    const model = this.model;
    this.model = null;
    await model?.free();
  }
}

async function loraIdentity(lora: { path: string; scale: number }[]): Promise<JsonObject[]> {
  const out: JsonObject[] = [];
  for (const a of lora) {
    const fp = await modelFingerprint(a.path, { full: true });
    out.push({ file: fp.file, size: fp.size, sha256: fp.sha256, scale: a.scale });
  }
  return out;
}

function templateFor(o: ModelScorerOptions, ds: EvalDataset): Template {
  if (needsExamplePool(o.template) && ds.train.workers.length === 0) {
    throw new InputError(`template "${o.template}" draws its examples from the training split, which is empty; run "labor-llm data split ${ds.dir} --write"`, {
      file: ds.dir,
      field: 'split',
    });
  }
  // getTemplate throws NotFoundError listing the valid names for an unknown one.
  return getTemplate(o.template, {
    taxonomy: ds.store.taxonomy,
    icl: { pool: ds.train.workers, k: o.icl?.k, seed: o.icl?.seed },
  });
}
