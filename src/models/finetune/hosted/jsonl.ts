/**
 * Checks a training or validation JSONL file before it is uploaded, with the rules the services'
 * own SDK checkers apply (see docs/finetune.md): every line one JSON object in one of the known
 * formats, all lines in the same format, no extra keys. Uploading a broken file costs a round trip
 * at best and a failed paid job at worst, and the service's verdict rarely names the line.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { InputError } from '../../../errors.js';
import type { Provider } from './types.js';

/** Together's names: `text` is LABOR-LLM's plain-text format ({"text": "<resume>"}). */
export type DatasetFormat = 'text' | 'conversation' | 'instruction' | 'preference';

const FORMAT_KEYS: Record<DatasetFormat, readonly string[]> = {
  text: ['text'],
  conversation: ['messages'],
  instruction: ['prompt', 'completion'],
  preference: ['input', 'preferred_output', 'non_preferred_output'],
};
/** Optional keys each format may carry besides its required ones. */
const FORMAT_OPTIONAL: Record<DatasetFormat, readonly string[]> = {
  text: [],
  conversation: ['tools'],
  instruction: [],
  preference: [],
};
const ROLES = new Set(['system', 'user', 'assistant', 'tool']);

export interface JsonlSummary {
  file: string;
  format: DatasetFormat;
  /** Examples (non-empty lines). */
  lines: number;
  bytes: number;
}

/** Validates `file` line by line (streaming, so size does not matter); throws InputError at the first bad line. */
export async function validateTrainingJsonl(file: string, options: { provider?: Provider } = {}): Promise<JsonlSummary> {
  let bytes: number;
  try {
    const st = await stat(file);
    if (!st.isFile()) throw new InputError('not a regular file', { file });
    bytes = st.size;
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw new InputError(`cannot read training file: ${(err as Error).message}`, { file });
  }
  if (!/\.jsonl$/i.test(file)) throw new InputError('training files must be JSONL with the extension .jsonl', { file });
  if (bytes === 0) throw new InputError('the file is empty: at least one example is needed', { file });

  const decoder = new TextDecoder('utf-8', { fatal: true });
  let format: DatasetFormat | undefined;
  let firstLine = 0;
  let lineNo = 0;
  let examples = 0;
  const check = (raw: Buffer): void => {
    lineNo++;
    let text: string;
    try {
      text = decoder.decode(raw);
    } catch {
      throw new InputError('not valid UTF-8', { file, line: lineNo });
    }
    if (text.endsWith('\r')) text = text.slice(0, -1);
    if (lineNo === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    if (text.trim() === '') throw new InputError('empty line (JSONL needs one JSON object per line)', { file, line: lineNo });
    const f = checkLine(text, file, lineNo, options.provider ?? 'together');
    if (format === undefined) {
      format = f;
      firstLine = lineNo;
    } else if (f !== format) {
      throw new InputError(`this line is in the "${f}" format but line ${firstLine} is in the "${format}" format; all lines must share one`, {
        file,
        line: lineNo,
      });
    }
    examples++;
  };

  let pending: Buffer[] = [];
  for await (const chunk of createReadStream(file)) {
    let buf = chunk as Buffer;
    let nl = buf.indexOf(0x0a);
    while (nl !== -1) {
      pending.push(buf.subarray(0, nl));
      check(Buffer.concat(pending));
      pending = [];
      buf = buf.subarray(nl + 1);
      nl = buf.indexOf(0x0a);
    }
    if (buf.length > 0) pending.push(buf);
  }
  // A last line without a newline still counts; a final newline does not start an empty line.
  if (pending.length > 0) check(Buffer.concat(pending));
  if (format === undefined || examples === 0) throw new InputError('no examples in the file', { file });
  return { file, format, lines: examples, bytes };
}

function checkLine(text: string, file: string, line: number, provider: Provider): DatasetFormat {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const msg = (err as Error).message;
    const pos = /position (\d+)/.exec(msg);
    const loc = pos ? { file, line, column: Number(pos[1]) + 1 } : { file, line };
    throw new InputError(`not valid JSON: ${msg}`, loc);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InputError(`each line must be a JSON object, found ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}`, {
      file,
      line,
    });
  }
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj);
  const matches = (Object.keys(FORMAT_KEYS) as DatasetFormat[]).filter((f) => FORMAT_KEYS[f].some((k) => k in obj));
  if (matches.length === 0) {
    throw new InputError(`no training field: expected "text" (plain text), "messages", "prompt"+"completion" or a preference triple; found ${keys.map((k) => `"${k}"`).join(', ') || 'no keys'}`, {
      file,
      line,
    });
  }
  if (matches.length > 1) {
    throw new InputError(`the line mixes the formats ${matches.map((m) => `"${m}"`).join(' and ')}; use one`, { file, line });
  }
  const format = matches[0] as DatasetFormat;
  for (const k of FORMAT_KEYS[format]) {
    if (!(k in obj)) throw new InputError(`missing field for the "${format}" format`, { file, line, field: k });
  }
  const allowed = new Set([...FORMAT_KEYS[format], ...FORMAT_OPTIONAL[format]]);
  for (const k of keys) {
    if (!allowed.has(k)) throw new InputError(`unexpected field (current SDKs reject extra keys)`, { file, line, field: k });
  }
  if (format === 'text') {
    if (provider === 'openai') {
      throw new InputError('the OpenAI fine-tuning API has no plain-text format; use "messages" or "prompt"/"completion"', {
        file,
        line,
        field: 'text',
      });
    }
    if (typeof obj.text !== 'string' || obj.text === '') throw new InputError('must be a non-empty string', { file, line, field: 'text' });
  } else if (format === 'instruction') {
    for (const k of ['prompt', 'completion']) {
      if (typeof obj[k] !== 'string') throw new InputError('must be a string', { file, line, field: k });
    }
  } else if (format === 'conversation') {
    checkMessages(obj.messages, file, line);
  } else {
    const input = obj.input;
    if (input === null || typeof input !== 'object' || !Array.isArray((input as Record<string, unknown>).messages)) {
      throw new InputError('must be an object with a "messages" list', { file, line, field: 'input' });
    }
  }
  return format;
}

function checkMessages(messages: unknown, file: string, line: number): void {
  if (!Array.isArray(messages) || messages.length === 0) {
    throw new InputError('must be a non-empty list of {role, content} objects', { file, line, field: 'messages' });
  }
  let previous: string | undefined;
  let assistant = false;
  messages.forEach((m: unknown, i) => {
    const field = `messages[${i}]`;
    if (m === null || typeof m !== 'object' || Array.isArray(m)) throw new InputError('must be an object', { file, line, field });
    const msg = m as Record<string, unknown>;
    if (typeof msg.role !== 'string' || !ROLES.has(msg.role)) {
      throw new InputError(`role must be one of ${[...ROLES].join(', ')}`, { file, line, field: `${field}.role` });
    }
    if (!(typeof msg.content === 'string' || Array.isArray(msg.content))) {
      throw new InputError('content must be a string or a list of parts', { file, line, field: `${field}.content` });
    }
    if ('weight' in msg && msg.weight !== 0 && msg.weight !== 1) {
      throw new InputError('weight must be 0 or 1', { file, line, field: `${field}.weight` });
    }
    if (msg.role === previous) throw new InputError(`two consecutive "${msg.role}" messages`, { file, line, field });
    previous = msg.role;
    if (msg.role === 'assistant') assistant = true;
  });
  if (!assistant) throw new InputError('a conversation needs at least one "assistant" message', { file, line, field: 'messages' });
}
