/**
 * A BPE vocabulary learned from texts, written as the `tokenizer.*` keys of a GGUF that llama.cpp
 * loads as a SentencePiece-style tokenizer ("llama" model: merges by score, spaces as U+2581, byte
 * fallback). It gives a model trained from scratch a vocabulary of its own in which what the texts
 * repeat (an occupation title with its newline, a year range, a template phrase) is one or a few
 * tokens, so the output layer is small and predicting a title is a choice among a few hundred tokens.
 *
 * Learning is the classic algorithm (Sennrich et al. 2016): start from the characters, repeatedly
 * merge the most frequent adjacent pair (ties: the lower symbol ids, so the result is deterministic)
 * until `merges` merges are made or no pair occurs twice. Unlike GPT-2's byte-level BPE there is no
 * pre-tokenizer, so merges may cross spaces ("▁Dental▁assistants\n" can be one token); for learning
 * only, the texts are cut after every newline and colon, so tokens never straddle a line's
 * "year (education):" part and its title. A merge's token gets score -rank: llama.cpp's SPM tokenizer
 * merges the highest-scoring pair first, which replays the learned order. Characters the texts never
 * showed fall back to byte tokens <0x00>..<0xFF>.
 *
 * No library: the npm BPE packages apply a vocabulary, or bind Rust/Python trainers; this is the
 * short learner the demo needs, and llama.cpp does the tokenizing.
 */
import { InputError } from '../../errors.js';
import { gguf } from './metadata.js';
import type { GgufMetadata } from './types.js';
import type { Tokenizer } from './vocab.js';

/** SentencePiece's visible space. */
const SPACE = '\u2581';

/** llama.cpp token types (llama.h: LLAMA_TOKEN_TYPE_*). */
const TYPE = { normal: 1, unknown: 2, control: 3, byte: 6 } as const;

export interface BpeOptions {
  /** Merges to learn at most (default 1000). */
  merges?: number;
}

export interface LearnedBpe {
  tokenizer: Tokenizer;
  /** Learned merges in rank order, as the two parts joined by a space (the parts use U+2581 for spaces). */
  merges: string[];
}

/** Learns a BPE vocabulary from `texts` (see the module comment). */
export function learnBpe(texts: readonly string[], opts: BpeOptions = {}): LearnedBpe {
  const maxMerges = opts.merges ?? 1000;
  if (!Number.isInteger(maxMerges) || maxMerges < 0 || maxMerges > 100_000) {
    throw new InputError(`merges must be an integer in [0, 100000], got ${String(opts.merges)}`);
  }
  // Distinct pieces with their counts.
  const counts = new Map<string, number>();
  for (const text of texts) {
    for (const piece of text.replaceAll(' ', SPACE).split(/(?<=[\n:])/u)) {
      if (piece !== '') counts.set(piece, (counts.get(piece) ?? 0) + 1);
    }
  }
  // Symbols are ids into `symbols`; the characters first, in code point order.
  const chars = [...new Set([...counts.keys()].flatMap((p) => [...p]))].sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);
  const symbols: string[] = [...chars];
  const idOf = new Map(chars.map((c, i) => [c, i]));
  const pieces = [...counts].map(([p, n]) => ({ ids: [...p].map((c) => idOf.get(c)!), n }));
  const merges: string[] = [];
  const mergedIds: number[] = [];
  const KEY = 1 << 20; // ids stay below 2^20 (at most 100,000 merges plus the characters)
  while (merges.length < maxMerges) {
    const pairs = new Map<number, number>();
    for (const { ids, n } of pieces) {
      for (let i = 0; i + 1 < ids.length; i++) {
        const key = ids[i]! * KEY + ids[i + 1]!;
        pairs.set(key, (pairs.get(key) ?? 0) + n);
      }
    }
    let best = -1;
    let bestN = 1;
    for (const [key, n] of pairs) {
      if (n > bestN || (n === bestN && best >= 0 && key < best)) {
        best = key;
        bestN = n;
      }
    }
    if (best < 0) break;
    const a = Math.floor(best / KEY);
    const b = best % KEY;
    const text = symbols[a]! + symbols[b]!;
    let id = symbols.indexOf(text);
    if (id < 0) {
      id = symbols.length;
      symbols.push(text);
      mergedIds.push(id);
    }
    merges.push(`${symbols[a]!} ${symbols[b]!}`);
    for (const p of pieces) {
      const s = p.ids;
      for (let i = 0; i + 1 < s.length; i++) if (s[i] === a && s[i + 1] === b) s.splice(i, 2, id);
    }
  }
  const bytes = Array.from({ length: 256 }, (_, i) => `<0x${i.toString(16).toUpperCase().padStart(2, '0')}>`);
  const tokens = ['<unk>', '<s>', '</s>', ...bytes, ...symbols];
  const scores = new Float32Array(tokens.length);
  const types = new Int32Array(tokens.length).fill(TYPE.normal);
  types[0] = TYPE.unknown;
  types[1] = TYPE.control;
  types[2] = TYPE.control;
  for (let i = 0; i < 256; i++) types[3 + i] = TYPE.byte;
  // A merge's token scores -rank (earlier merges first); characters score below every merge.
  const base = 3 + 256;
  mergedIds.forEach((id, rank) => (scores[base + id] = -rank));
  for (let i = 0; i < chars.length; i++) scores[base + i] = -maxMerges - 1;
  const metadata: GgufMetadata = new Map([
    ['tokenizer.ggml.model', gguf.str('llama')],
    ['tokenizer.ggml.tokens', gguf.strings(tokens)],
    ['tokenizer.ggml.scores', gguf.f32s(scores)],
    ['tokenizer.ggml.token_type', gguf.i32s(types)],
    ['tokenizer.ggml.unknown_token_id', gguf.u32(0)],
    ['tokenizer.ggml.bos_token_id', gguf.u32(1)],
    ['tokenizer.ggml.eos_token_id', gguf.u32(2)],
    ['tokenizer.ggml.add_bos_token', gguf.bool(true)],
    ['tokenizer.ggml.add_eos_token', gguf.bool(false)],
    ['tokenizer.ggml.add_space_prefix', gguf.bool(false)],
  ]);
  return { tokenizer: { metadata, nVocab: tokens.length, model: 'llama', source: '(learned BPE)' }, merges };
}
