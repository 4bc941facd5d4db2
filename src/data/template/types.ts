/**
 * What a template produces. Every template renders a worker as ONE text in which each record's title is
 * preceded by a prompt-ending ":" and scored as the continuation " " + title + "\n"; so for every record
 * `i`, text.slice(0, spans[i].start) is the prediction prompt for that record and
 * text.slice(spans[i].start, spans[i].end) === " " + title + "\n" (see continuationOf()).
 *
 * Offsets are JavaScript string indices (UTF-16 code units); utf8Spans() converts them to byte offsets.
 */
import type { Worker } from '../panel/types.js';

/** Where record `index` of a worker sits in its rendered text. */
export interface RecordSpan {
  /** Index into worker.records (record 0 is predicted too, from the preamble alone). */
  index: number;
  year: number;
  /** The record's (true) code. */
  code: string;
  /** Start of the scored continuation: the space before the title; text.slice(0, start) is the prompt. */
  start: number;
  /** End of the scored continuation: just after the newline that ends the title's line. */
  end: number;
  /** [titleStart, titleEnd): the title alone. */
  titleStart: number;
  titleEnd: number;
}

export interface RenderedWorker {
  workerId: string;
  text: string;
  /** One span per record, in record order. */
  spans: RecordSpan[];
}

/** The prompt for one record (records[index] predicted from records[0..index-1]; none for index 0). */
export interface PredictionPrompt {
  workerId: string;
  index: number;
  year: number;
  /** The true code and its title (the continuation to score is continuationOf(title)). */
  code: string;
  title: string;
  prompt: string;
}

export interface Template {
  readonly name: TemplateName;
  readonly description: string;
  /** The worker's whole text (training text for the resume templates), with every title's span. */
  render(worker: Worker): RenderedWorker;
  /** The prediction prompt for records[index] (index >= 0): a prefix of render(worker).text. */
  prompt(worker: Worker, index: number): string;
  /** prompt() for every record of the worker (index 0..n-1). */
  prompts(worker: Worker): PredictionPrompt[];
}

export const TEMPLATE_NAMES = ['resume', 'resume-birth-year', 'off-the-shelf', 'off-the-shelf-titles', 'icl', 'icl-titles'] as const;
export type TemplateName = (typeof TEMPLATE_NAMES)[number];
/** The in-context templates: they need a pool of example workers and are not fine-tuning texts. */
export const ICL_TEMPLATE_NAMES = ['icl', 'icl-titles'] as const satisfies readonly TemplateName[];

/** The text a model is scored on after a prompt, for a given title. */
export function continuationOf(title: string): string {
  return ` ${title}\n`;
}
