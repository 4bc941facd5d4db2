/**
 * Fine-tuning files from rendered panels.
 *
 * Examples are (prompt, completion) pairs whose concatenation is exactly the template's text:
 * - mode "resume" (default): one example per worker; the prompt is the text before the first record
 *   line (for the resume template: header and demographic sentence), the completion the rest.
 * - mode "transitions": one example per transition; the prompt is the prediction prompt, the completion
 *   " " + title + "\n".
 *
 * Formats:
 * - together:    JSON Lines, {"text": prompt + completion} per example (Together AI's plain-text format);
 * - openai-chat: JSON Lines, {"messages": [system, user = prompt, assistant = completion]} per example;
 *                chat messages are trimmed of surrounding whitespace (" Title\n" becomes "Title");
 * - text:        the texts one after another, separated by a blank line, ending with a newline.
 *
 * Token counts are approximate unless the caller passes a tokenizer: by default ceil(characters / 4)
 * per example text (prompt + completion), which is close for English with BPE vocabularies.
 */
import { writeFile } from 'node:fs/promises';
import { InputError } from '../../errors.js';
import type { Worker } from '../panel/types.js';
import { continuationOf, type Template } from '../template/types.js';

export const TRAINING_FORMATS = ['together', 'openai-chat', 'text'] as const;
export type TrainingFormat = (typeof TRAINING_FORMATS)[number];
export type ExampleMode = 'resume' | 'transitions';

export interface TrainingExample {
  prompt: string;
  completion: string;
}

export const DEFAULT_SYSTEM_PROMPT =
  "You continue workers' resumes: given a worker's history, write the next occupation title exactly as listed in the taxonomy.";

export interface FormatOptions {
  /** Counts the tokens of a text; default ceil(text.length / 4). */
  countTokens?: (text: string) => number;
  /** System message of openai-chat examples. */
  systemPrompt?: string;
}

export interface TrainingFileReport {
  format: TrainingFormat;
  examples: number;
  /** Size of the file in bytes (UTF-8). */
  bytes: number;
  /** Characters of training text (prompt + completion of every example), without format overhead. */
  characters: number;
  /** Tokens of training text, by the tokenizer or approximated. */
  tokens: number;
  tokenizer: 'approximate (characters / 4)' | 'custom';
}

export interface TrainingFile {
  content: string;
  report: TrainingFileReport;
}

/** (prompt, completion) examples of `workers` under `template`. */
export function trainingExamples(workers: readonly Worker[], template: Template, mode: ExampleMode = 'resume'): TrainingExample[] {
  const out: TrainingExample[] = [];
  for (const w of workers) {
    if (mode === 'resume') {
      const r = template.render(w);
      const first = r.spans[0];
      // The first record line starts after the last newline before its title span.
      const cut = first ? r.text.lastIndexOf('\n', first.start) + 1 : r.text.length;
      out.push({ prompt: r.text.slice(0, cut), completion: r.text.slice(cut) });
    } else {
      // As the mode's name says, transitions only (records 1..n-1); resume mode's completion holds every record.
      for (const p of template.prompts(w)) if (p.index >= 1) out.push({ prompt: p.prompt, completion: continuationOf(p.title) });
    }
  }
  return out;
}

export function approximateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

/** The file content of `examples` in `format`, with its size and token count. */
export function formatTrainingFile(examples: readonly TrainingExample[], format: TrainingFormat, opts: FormatOptions = {}): TrainingFile {
  if (!(TRAINING_FORMATS as readonly string[]).includes(format)) {
    throw new InputError(`unknown training file format "${format}": valid formats are ${TRAINING_FORMATS.join(', ')}`);
  }
  const count = opts.countTokens ?? approximateTokens;
  const system = opts.systemPrompt ?? DEFAULT_SYSTEM_PROMPT;
  const parts: string[] = [];
  let characters = 0;
  let tokens = 0;
  for (const ex of examples) {
    const text = ex.prompt + ex.completion;
    characters += text.length;
    tokens += count(text);
    if (format === 'together') parts.push(`${JSON.stringify({ text })}\n`);
    else if (format === 'openai-chat') {
      const messages = [
        { role: 'system', content: system },
        { role: 'user', content: ex.prompt.trim() },
        { role: 'assistant', content: ex.completion.trim() },
      ];
      parts.push(`${JSON.stringify({ messages })}\n`);
    } else parts.push(text);
  }
  const content = format === 'text' ? (parts.length ? `${parts.join('\n\n')}\n` : '') : parts.join('');
  return {
    content,
    report: {
      format,
      examples: examples.length,
      bytes: Buffer.byteLength(content, 'utf8'),
      characters,
      tokens,
      tokenizer: opts.countTokens ? 'custom' : 'approximate (characters / 4)',
    },
  };
}

/** formatTrainingFile, written to `path`; the report also names the path. */
export async function writeTrainingFile(
  path: string,
  examples: readonly TrainingExample[],
  format: TrainingFormat,
  opts: FormatOptions = {},
): Promise<TrainingFileReport & { path: string }> {
  const file = formatTrainingFile(examples, format, opts);
  await writeFile(path, file.content, 'utf8');
  return { ...file.report, path };
}
