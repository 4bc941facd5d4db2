/**
 * Prompts against the model's context, checked before any worker is scored (an in-context prompt with
 * 10 examples and the title list runs to thousands of tokens):
 * - longer than the engine's context (--context-size): the engine cannot score it, so InputError now
 *   rather than hours into a run, naming the worker, the length and the size to ask for;
 * - longer than the context the model was trained on: scored, but the model has never seen positions
 *   that far and its numbers mean little; a warning says so (the paper's in-context table includes
 *   Llama-2-7B-32k, a long-context model).
 * The check tokenizes the texts of the workers with the longest texts (by characters), which are the
 * longest in tokens up to tokenizer differences between texts of about the same length.
 */
import type { Model } from '../engine/model.js';
import { ParameterError } from '../errors.js';
import type { Worker } from '../data/panel/types.js';
import { continuationOf, type Template } from '../data/template/index.js';

/** Workers whose texts are tokenized (the longest by characters). */
const CANDIDATES = 16;

export interface ContextReport {
  /** Tokens of the longest text checked (with the model's BOS), and its worker. */
  longestTokens: number;
  workerId: string | null;
  nCtx: number;
  nCtxTrain: number;
}

export function checkPromptContext(
  model: Model,
  template: Template,
  workers: readonly Worker[],
  titles: readonly string[],
  warn: (message: string) => void,
): ContextReport {
  const { nCtx, nCtxTrain } = model.info;
  const texts = workers.map((w) => ({ w, text: template.render(w).text }));
  texts.sort((a, b) => b.text.length - a.text.length);
  let longestTitle = 0;
  for (const t of titles) longestTitle = Math.max(longestTitle, model.tokenize(continuationOf(t)).length);
  let longest = 0;
  let workerId: string | null = null;
  for (const { w, text } of texts.slice(0, CANDIDATES)) {
    const n = model.tokenize(text, { addSpecial: true }).length;
    if (n > longest) {
      longest = n;
      workerId = w.id;
    }
  }
  const report = { longestTokens: longest, workerId, nCtx, nCtxTrain };
  if (workerId === null) return report;
  // The last prompt plus the longest title is at most the whole text plus the longest title.
  const need = longest + longestTitle;
  if (need > nCtx) {
    throw new ParameterError(
      'engine.contextSize',
      `template "${template.name}": worker "${workerId}" has a text of ${longest} tokens, which with the longest title ` +
        `(${longestTitle} tokens) does not fit the context of ${nCtx} tokens; raise \`engine.contextSize\` to at least ${need}` +
        (need > nCtxTrain ? ` (beyond the ${nCtxTrain} tokens the model was trained on: use a long-context model or fewer examples, \`icl.k\`)` : ''),
    );
  }
  if (need > nCtxTrain) {
    warn(
      `WARNING: template "${template.name}": prompts run to ${need} tokens (worker "${workerId}"), more than the ` +
        `${nCtxTrain} tokens of context the model was trained on; its probabilities past that point are not reliable. ` +
        'Use a long-context model (such as the paper\'s Llama-2-7B-32k) or fewer in-context examples (--k).',
    );
  }
  return report;
}
