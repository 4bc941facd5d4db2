/**
 * Scoring a worker with an LLM, in the two evaluation modes:
 *
 * Every record of a worker is scored, the first one included (its prompt is the preamble and its line
 * head: the paper's perplexity averages over t = 1..T).
 *
 * - distribution: for each record, the engine scores every title after the record's prompt
 *   (template.prompts); the true title's raw and normalized log-prob, the mass on valid titles, its rank,
 *   the top-k codes and the binary-task probabilities are stored. All prompts of a worker go to the
 *   engine in one call, in record order: each is a prefix of the next, so the engine evaluates only the
 *   new line each time, and the first one reuses whatever it shares with the previous worker's last
 *   prompt (a titles list, the resume header), which is therefore evaluated once per run, not per worker.
 * - perplexity: one teacher-forced pass over the worker's whole text (template.render), reading the
 *   log-prob of each title's continuation " " + title + "\n" at its span. Since text.slice(0, span.start)
 *   is exactly the record's prompt, this is the same number as distribution mode's raw log-prob of
 *   the true title (same tokens, same positions; equal to float rounding, ~1e-6 nats with an f32 KV
 *   cache), at the cost of one pass over the text instead of one trie pass per transition.
 */
import { ModelError } from '../errors.js';
import { type Model, type TitleScores, type TitleSet } from '../engine/model.js';
import { eventProbabilities } from '../metrics/binary.js';
import type { TopKEntry } from '../metrics/types.js';
import type { PredictedRecord, Worker } from '../data/panel/types.js';
import type { StoredResult } from '../results/types.js';
import type { Taxonomy } from '../data/taxonomy/taxonomy.js';
import { continuationOf, type Template } from '../data/template/index.js';
import { rawResult } from './scorer.js';

export type EvalMode = 'distribution' | 'perplexity';
export const EVAL_MODES: readonly EvalMode[] = ['distribution', 'perplexity'];

/** Token counts a scorer reports, to check that shared preambles are evaluated once. */
export interface ScoringStats {
  /** Prompt (or text) tokens over all engine calls. */
  promptTokens: number;
  /** Of those, tokens actually evaluated (not reused from the KV cache). */
  promptTokensEvaluated: number;
  /** All tokens decoded (prompts and trie nodes). */
  evaluatedTokens: number;
  decodeCalls: number;
  msDecode: number;
  /** Tokenizing prompts and checking the titles' tokens after them (for small models, more than the decodes). */
  msTokenize: number;
}

export function emptyStats(): ScoringStats {
  return { promptTokens: 0, promptTokensEvaluated: 0, evaluatedTokens: 0, decodeCalls: 0, msDecode: 0, msTokenize: 0 };
}

function addStats(acc: ScoringStats, s: ScoringStats): void {
  acc.promptTokens += s.promptTokens;
  acc.promptTokensEvaluated += s.promptTokensEvaluated;
  acc.evaluatedTokens += s.evaluatedTokens;
  acc.decodeCalls += s.decodeCalls;
  acc.msDecode += s.msDecode;
  acc.msTokenize += s.msTokenize;
}

/**
 * The titles whose continuation " " + title + "\n" does not come back unchanged from
 * detokenize(tokenize(...)): the model cannot write them (unknown tokens, lowercasing or normalizing
 * vocabularies), so its "probability of the title" would be that of some other text.
 */
export function inexpressibleTitles(model: Model, titles: readonly string[]): { title: string; readsAs: string }[] {
  const bad: { title: string; readsAs: string }[] = [];
  for (const title of titles) {
    const text = continuationOf(title);
    const back = model.detokenize(model.tokenize(text));
    if (back !== text) bad.push({ title, readsAs: back });
  }
  return bad;
}

/** Throws ModelError naming the first titles the model's vocabulary cannot express. */
export function checkTitlesExpressible(model: Model, titles: readonly string[]): void {
  const bad = inexpressibleTitles(model, titles);
  if (bad.length === 0) return;
  const examples = bad
    .slice(0, 3)
    .map((b) => `${JSON.stringify(b.title)} reads back as ${JSON.stringify(b.readsAs.replace(/^ /, '').replace(/\n$/, ''))}`)
    .join('; ');
  throw new ModelError(
    `${model.path}: the model's vocabulary cannot express ${bad.length} of ${titles.length} titles exactly ` +
      `(${examples}); its scores would be for other text. Use a model whose tokenizer round-trips text ` +
      `(byte fallback or byte-level BPE, as Llama, Mistral, Qwen, GPT-2 vocabularies do)`,
  );
}

/** The stored result of one transition from the engine's scores of every title. */
export function distributionResult(
  taxonomy: Taxonomy,
  scores: TitleScores,
  t: PredictedRecord & { dataset: string },
  topK: number,
  notInLaborForce: readonly string[],
): StoredResult {
  const codes = taxonomy.codes();
  const truth = taxonomy.indexOf(t.to);
  if (truth < 0) throw new ModelError(`code "${t.to}" of worker "${t.workerId}" is not in taxonomy "${taxonomy.name}"`);
  const lp = scores.logProbs;
  const raw = lp[truth]!;
  // Rank and ties on the raw log-probs: normalizing subtracts one constant, so the order is the same,
  // and comparing the engine's own numbers avoids ties made by rounding in exp().
  let greater = 0;
  let ties = 0;
  for (let j = 0; j < lp.length; j++) {
    if (lp[j]! > raw) greater++;
    else if (lp[j]! === raw) ties++;
  }
  const dist = new Float64Array(lp.length);
  for (let j = 0; j < lp.length; j++) dist[j] = Math.exp(lp[j]! - scores.logTotal);
  const top: TopKEntry[] = scores
    .ranking()
    .slice(0, Math.min(topK, lp.length))
    .map((j) => ({ code: codes[j]!, prob: dist[j]! }));
  const ev = eventProbabilities(codes, dist, t.from, notInLaborForce);
  return {
    workerId: t.workerId,
    index: t.index,
    dataset: t.dataset,
    year: t.year,
    from: t.from,
    to: t.to,
    logProb: raw - scores.logTotal,
    rawLogProb: raw,
    validMass: Math.exp(scores.logTotal),
    rank: greater + 1,
    ties,
    topK: top,
    pSame: t.from === null ? null : ev.pSame,
    pLaborForce: ev.pLaborForce,
  };
}

/** The code before record `index`; null for the first record. */
function previousCode(worker: Worker, index: number): string | null {
  return index > 0 ? worker.records[index - 1]!.code : null;
}

export interface LlmScorerOptions {
  model: Model;
  titleSet: TitleSet;
  taxonomy: Taxonomy;
  template: Template;
  mode: EvalMode;
  topK: number;
  notInLaborForce: readonly string[];
  /** Distribution mode: transitions of a worker scored this many at a time in shared decodes (default 1). */
  crossBatch?: number;
}

export class LlmScorer {
  readonly stats: ScoringStats = emptyStats();

  constructor(private readonly o: LlmScorerOptions) {}

  async scoreWorker(worker: Worker, signal?: AbortSignal): Promise<StoredResult[]> {
    return this.o.mode === 'distribution' ? this.distribution(worker, signal) : this.perplexity(worker, signal);
  }

  private async distribution(worker: Worker, signal: AbortSignal | undefined): Promise<StoredResult[]> {
    const { model, titleSet, taxonomy, template, topK, notInLaborForce } = this.o;
    const prompts = template.prompts(worker);
    if (prompts.length === 0) return [];
    const scores = await model.scoreTitlesBatch(
      prompts.map((p) => p.prompt),
      titleSet,
      { ...(signal ? { signal } : {}), ...(this.o.crossBatch !== undefined ? { crossBatch: this.o.crossBatch } : {}) },
    );
    return prompts.map((p, k) => {
      const s = scores[k]!;
      addStats(this.stats, s.stats);
      return distributionResult(
        taxonomy,
        s,
        { workerId: worker.id, index: p.index, year: p.year, from: previousCode(worker, p.index), to: p.code, dataset: worker.dataset },
        topK,
        notInLaborForce,
      );
    });
  }

  private async perplexity(worker: Worker, signal: AbortSignal | undefined): Promise<StoredResult[]> {
    const { model, template } = this.o;
    const rendered = template.render(worker);
    const spans = rendered.spans;
    if (spans.length === 0) return [];
    const scored = await model.scoreSpans(
      rendered.text,
      spans.map((s) => [s.start, s.end] as const),
      signal ? { signal } : {},
    );
    addStats(this.stats, scored.stats);
    return spans.map((s, k) => rawResult(worker, s.index, scored.logProbs[k]!));
  }
}
