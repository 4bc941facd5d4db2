/**
 * Shared machinery of the line-per-record templates: a template supplies its preamble, the head of each
 * record's line (ending with ":") and its epilogue; the builder lays them out and records each title's
 * span. Rendering the full text and rendering one prompt go through the same line functions, which is what
 * makes every prompt a prefix of the full text.
 */
import { StateError } from '../../errors.js';
import type { Worker } from '../panel/types.js';
import type { Taxonomy } from '../taxonomy/taxonomy.js';
import type { PredictionPrompt, RecordSpan, RenderedWorker, Template, TemplateName } from './types.js';
import { continuationOf } from './types.js';

export interface LineLayout {
  /** Text before the first record line (ends with "\n" or is empty). */
  preamble(worker: Worker): string;
  /** The head of record i's line, up to and including the ":" that ends the prompt. */
  head(worker: Worker, index: number): string;
  /** Text after the last record line. */
  epilogue(worker: Worker): string;
}

/**
 * A template that is one LineLayout over a taxonomy (the resume and off-the-shelf templates): its text,
 * each record's prompt and all prompts come from the layout's lines.
 */
export class LineTemplate implements Template {
  constructor(
    readonly name: TemplateName,
    readonly description: string,
    private readonly taxonomy: Taxonomy,
    private readonly layout: LineLayout,
  ) {}

  render(worker: Worker): RenderedWorker {
    return renderLines(this.layout, this.taxonomy, worker);
  }

  prompt(worker: Worker, index: number): string {
    return promptLines(this.layout, this.taxonomy, worker, index);
  }

  prompts(worker: Worker): PredictionPrompt[] {
    return allPrompts(this.taxonomy, worker, (w, i) => this.prompt(w, i));
  }
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

/** The prompt of record `index` (0 included: the first record's prompt is the preamble and its line head). */
export function promptLines(layout: LineLayout, taxonomy: Taxonomy, worker: Worker, index: number): string {
  checkRecordIndex(worker, index);
  let text = layout.preamble(worker);
  for (let i = 0; i < index; i++) {
    text += layout.head(worker, i) + continuationOf(taxonomy.titleOf((worker.records[i] as { code: string }).code));
  }
  return text + layout.head(worker, index);
}

export function checkRecordIndex(worker: Worker, index: number): void {
  if (!Number.isInteger(index) || index < 0 || index >= worker.records.length) {
    throw new StateError(`worker "${worker.id}" has no record ${index} (valid: 0..${worker.records.length - 1})`);
  }
}

/** prompts() in terms of prompt(): one PredictionPrompt per record, the first one included (the paper
 * scores t = 1..T: the first record is predicted from the demographic lines alone). */
export function allPrompts(
  taxonomy: Taxonomy,
  worker: Worker,
  prompt: (worker: Worker, index: number) => string,
): PredictionPrompt[] {
  const out: PredictionPrompt[] = [];
  for (let i = 0; i < worker.records.length; i++) {
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
