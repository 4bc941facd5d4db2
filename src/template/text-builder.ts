/**
 * Shared machinery of the line-per-record templates: a template supplies its preamble, the head of each
 * record's line (ending with ":") and its epilogue; the builder lays them out and records each title's
 * span. Rendering the full text and rendering one prompt go through the same line functions, which is what
 * makes every prompt a prefix of the full text.
 */
import { StateError } from '../errors.js';
import type { Worker } from '../panel/types.js';
import type { Taxonomy } from '../taxonomy/taxonomy.js';
import type { PredictionPrompt, RecordSpan, RenderedWorker } from './types.js';
import { continuationOf } from './types.js';

export interface LineLayout {
  /** Text before the first record line (ends with "\n" or is empty). */
  preamble(worker: Worker): string;
  /** The head of record i's line, up to and including the ":" that ends the prompt. */
  head(worker: Worker, index: number): string;
  /** Text after the last record line. */
  epilogue(worker: Worker): string;
}

export function renderLines(layout: LineLayout, taxonomy: Taxonomy, worker: Worker): RenderedWorker {
  let text = layout.preamble(worker);
  const spans: RecordSpan[] = [];
  worker.records.forEach((rec, i) => {
    text += layout.head(worker, i);
    const title = taxonomy.titleOf(rec.code);
    const start = text.length;
    text += continuationOf(title);
    spans.push({ index: i, year: rec.year, code: rec.code, start, end: text.length, titleStart: start + 1, titleEnd: start + 1 + title.length });
  });
  text += layout.epilogue(worker);
  return { workerId: worker.id, text, spans };
}

export function promptLines(layout: LineLayout, taxonomy: Taxonomy, worker: Worker, index: number): string {
  checkTransitionIndex(worker, index);
  let text = layout.preamble(worker);
  for (let i = 0; i < index; i++) {
    text += layout.head(worker, i) + continuationOf(taxonomy.titleOf((worker.records[i] as { code: string }).code));
  }
  return text + layout.head(worker, index);
}

export function checkTransitionIndex(worker: Worker, index: number): void {
  if (!Number.isInteger(index) || index < 1 || index >= worker.records.length) {
    throw new StateError(
      `worker "${worker.id}" has no transition at record ${index} (valid: 1..${worker.records.length - 1})`,
    );
  }
}

/** prompts() in terms of prompt(): one PredictionPrompt per transition. */
export function allPrompts(
  taxonomy: Taxonomy,
  worker: Worker,
  prompt: (worker: Worker, index: number) => string,
): PredictionPrompt[] {
  const out: PredictionPrompt[] = [];
  for (let i = 1; i < worker.records.length; i++) {
    const rec = worker.records[i] as { year: number; code: string };
    out.push({ workerId: worker.id, index: i, year: rec.year, code: rec.code, title: taxonomy.titleOf(rec.code), prompt: prompt(worker, i) });
  }
  return out;
}

/** Converts a rendering's UTF-16 offsets to UTF-8 byte offsets (what a tokenizer over bytes needs). */
export function utf8Spans(rendered: RenderedWorker): RecordSpan[] {
  const bytes = (i: number): number => Buffer.byteLength(rendered.text.slice(0, i), 'utf8');
  return rendered.spans.map((s) => ({ ...s, start: bytes(s.start), end: bytes(s.end), titleStart: bytes(s.titleStart), titleEnd: bytes(s.titleEnd) }));
}
