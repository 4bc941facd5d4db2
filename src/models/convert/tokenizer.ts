/**
 * A Hugging Face checkpoint's tokenizer as the GGUF `tokenizer.*` keys llama.cpp reads:
 * SentencePiece (`tokenizer.model`, model "llama") when present, as llama.cpp's own converter
 * prefers it, else byte-level BPE (`tokenizer.json`, model "gpt2") with the pre-tokenizer name
 * llama.cpp needs. Special token ids and add-BOS/EOS come from tokenizer_config.json, then
 * config.json, then the model's own defaults.
 */
import { ParameterError, InputError } from '../../errors.js';
import { gguf } from '../gguf/metadata.js';
import type { GgufValue } from '../gguf/types.js';
import { parseJsonFile } from './hf-config.js';
import { readSentencePiece, TOKEN_TYPE } from './sentencepiece.js';

/**
 * The pre-tokenizers llama.cpp implements for byte-level BPE, by the split regex of tokenizer.json
 * (llama.cpp's own converter identifies them by hashing the upstream tokenizer's output instead, which
 * needs the Python tokenizer). Only Llama 3's is listed: the llama family this converter reads.
 */
export const BPE_PRE_TOKENIZERS: Record<string, string> = {
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+":
    'llama-bpe',
};

export interface ConvertedTokenizer {
  kind: 'spm' | 'bpe';
  nVocab: number;
  metadata: [string, GgufValue][];
}

export interface TokenizerInputs {
  /** The checkpoint's files by base name. */
  files: Map<string, Buffer>;
  /** Where a file of the checkpoint is, for messages. */
  locate: (name: string) => string;
  /** config.json's vocab_size: the vocabulary is padded up to it. */
  vocabSize: number;
  bosTokenId: number | undefined;
  eosTokenId: number | undefined;
  /** Overrides the pre-tokenizer name (BPE), for tokenizers whose regex is not in the table. */
  preTokenizer?: string | undefined;
}

type Json = Record<string, unknown>;

/** A special token of tokenizer_config.json: a string or {content}. */
function tokenContent(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && v !== null && typeof (v as Json).content === 'string') return (v as Json).content as string;
  return undefined;
}

function padVocab(tokens: string[], types: number[], scores: number[] | undefined, vocabSize: number, file: string): void {
  if (tokens.length > vocabSize) {
    throw new InputError(`the tokenizer has ${tokens.length} tokens, more than config.json's vocab_size ${vocabSize}`, {
      file,
      field: 'vocab_size',
    });
  }
  for (let i = tokens.length; i < vocabSize; i++) {
    tokens.push(`[PAD${i}]`);
    types.push(TOKEN_TYPE.unused);
    scores?.push(-1000);
  }
}

/** bos/eos/unk/pad ids and the add-BOS/EOS flags. */
function specialKeys(
  inp: TokenizerInputs,
  tokens: string[],
  defaults: { bos?: number; eos?: number; unk?: number; pad?: number; addBos?: boolean | ((bos: string) => boolean); addEos?: boolean },
): [string, GgufValue][] {
  const tc = inp.files.get('tokenizer_config.json');
  const cfg = tc === undefined ? {} : parseJsonFile(inp.locate('tokenizer_config.json'), tc);
  const ids = new Map<string, number>();
  const find = (kind: string): number | undefined => {
    const content = tokenContent(cfg[`${kind}_token`]);
    if (content === undefined) return undefined;
    if (ids.size === 0) tokens.forEach((t, i) => ids.set(t, i));
    const id = ids.get(content);
    if (id === undefined) {
      throw new InputError(`${kind}_token ${JSON.stringify(content)} is not in the vocabulary`, {
        file: inp.locate('tokenizer_config.json'),
        field: `${kind}_token`,
      });
    }
    return id;
  };
  const out: [string, GgufValue][] = [];
  const put = (kind: string, key: string, id: number | undefined): void => {
    if (id !== undefined && id >= 0 && id < tokens.length) out.push([`tokenizer.ggml.${key}`, gguf.u32(id)]);
  };
  const bos = find('bos') ?? inp.bosTokenId ?? defaults.bos;
  put('bos', 'bos_token_id', bos);
  put('eos', 'eos_token_id', find('eos') ?? inp.eosTokenId ?? defaults.eos);
  put('unk', 'unknown_token_id', find('unk') ?? defaults.unk);
  put('pad', 'padding_token_id', find('pad') ?? defaults.pad);
  const addBosDefault = typeof defaults.addBos === 'function' ? bos !== undefined && defaults.addBos(tokens[bos]!) : defaults.addBos;
  const addBos = typeof cfg.add_bos_token === 'boolean' ? cfg.add_bos_token : addBosDefault;
  const addEos = typeof cfg.add_eos_token === 'boolean' ? cfg.add_eos_token : defaults.addEos;
  if (addBos !== undefined) out.push(['tokenizer.ggml.add_bos_token', gguf.bool(addBos)]);
  if (addEos !== undefined) out.push(['tokenizer.ggml.add_eos_token', gguf.bool(addEos)]);
  return out;
}

function sentencePiece(inp: TokenizerInputs, bytes: Buffer): ConvertedTokenizer {
  const file = inp.locate('tokenizer.model');
  const sp = readSentencePiece(file, bytes);
  if (sp.modelType !== 2) {
    throw new InputError(
      `SentencePiece model_type ${sp.modelType} is not supported: llama's tokenizer is BPE (2); unigram models (1) are another tokenizer`,
      { file, field: 'trainer_spec.model_type' },
    );
  }
  const tokens = [...sp.pieces];
  const types = [...sp.types];
  const scores = [...sp.scores];
  padVocab(tokens, types, scores, inp.vocabSize, file);
  return {
    kind: 'spm',
    nVocab: tokens.length,
    metadata: [
      ['tokenizer.ggml.model', gguf.str('llama')],
      ['tokenizer.ggml.pre', gguf.str('default')],
      ['tokenizer.ggml.tokens', gguf.strings(tokens)],
      ['tokenizer.ggml.scores', gguf.f32s(Float32Array.from(scores))],
      ['tokenizer.ggml.token_type', gguf.i32s(Int32Array.from(types))],
      ...specialKeys(inp, tokens, { bos: sp.bosId, eos: sp.eosId, unk: sp.unkId, pad: sp.padId, addBos: true, addEos: false }),
      ['tokenizer.ggml.add_space_prefix', gguf.bool(sp.addDummyPrefix)],
    ],
  };
}

/** The split regexes of a tokenizer.json pre_tokenizer (a Split, or a Sequence holding them). */
function splitPatterns(pre: unknown): string[] {
  if (typeof pre !== 'object' || pre === null) return [];
  const p = pre as Json;
  if (p.type === 'Sequence' && Array.isArray(p.pretokenizers)) return p.pretokenizers.flatMap(splitPatterns);
  if (p.type === 'Split') {
    const pattern = p.pattern as Json | undefined;
    return typeof pattern?.Regex === 'string' ? [pattern.Regex] : [];
  }
  return [];
}

function bytePairs(inp: TokenizerInputs, bytes: Buffer): ConvertedTokenizer {
  const file = inp.locate('tokenizer.json');
  const tj = parseJsonFile(file, bytes);
  const model = (tj.model ?? {}) as Json;
  if (model.type !== 'BPE') {
    throw new InputError(`tokenizer model type ${JSON.stringify(model.type)} is not supported (BPE, or a tokenizer.model)`, {
      file,
      field: 'model.type',
    });
  }
  if (model.byte_fallback === true) {
    throw new InputError('a SentencePiece-style tokenizer.json (byte_fallback) needs its tokenizer.model next to it', {
      file,
      field: 'model.byte_fallback',
    });
  }
  const patterns = splitPatterns(tj.pre_tokenizer);
  const pre = inp.preTokenizer ?? BPE_PRE_TOKENIZERS[patterns.join('\u0000')];
  if (pre === undefined) {
    throw new ParameterError(
      'preTokenizer',
      `unknown pre-tokenizer ${JSON.stringify(patterns)}: llama.cpp needs its name (known: ${[...new Set(Object.values(BPE_PRE_TOKENIZERS))].join(', ')}; give one with \`preTokenizer\`)`,
      { file, field: 'pre_tokenizer' },
    );
  }
  const vocab = model.vocab as Record<string, number> | undefined;
  if (typeof vocab !== 'object' || vocab === null) throw new InputError('model.vocab is missing', { file, field: 'model.vocab' });
  const byId = new Map<number, { text: string; type: number }>();
  for (const [text, id] of Object.entries(vocab)) byId.set(id, { text, type: TOKEN_TYPE.normal });
  const added = Array.isArray(tj.added_tokens) ? (tj.added_tokens as Json[]) : [];
  for (const a of added) {
    if (typeof a.id !== 'number' || typeof a.content !== 'string') {
      throw new InputError(`an added token has no id or content: ${JSON.stringify(a)}`, { file, field: 'added_tokens' });
    }
    byId.set(a.id, { text: a.content, type: a.special === true ? TOKEN_TYPE.control : TOKEN_TYPE.userDefined });
  }
  let n = 0;
  for (const id of byId.keys()) n = Math.max(n, id + 1);
  const tokens: string[] = [];
  const types: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = byId.get(i);
    tokens.push(t?.text ?? `[PAD${i}]`);
    types.push(t?.type ?? TOKEN_TYPE.unused);
  }
  padVocab(tokens, types, undefined, inp.vocabSize, file);
  const merges = (Array.isArray(model.merges) ? model.merges : []).map((m: unknown, i: number) => {
    if (typeof m === 'string') return m;
    if (Array.isArray(m) && m.length === 2) return `${String(m[0])} ${String(m[1])}`;
    throw new InputError(`merge ${i} is neither "a b" nor ["a", "b"]`, { file, field: 'model.merges' });
  });
  // Whether the post-processor adds a BOS: the fallback where tokenizer_config.json does not say.
  const post = JSON.stringify(tj.post_processor ?? null);
  const addBos = (bos: string): boolean => post.includes(JSON.stringify(bos));
  return {
    kind: 'bpe',
    nVocab: tokens.length,
    metadata: [
      ['tokenizer.ggml.model', gguf.str('gpt2')],
      ['tokenizer.ggml.pre', gguf.str(pre)],
      ['tokenizer.ggml.tokens', gguf.strings(tokens)],
      ['tokenizer.ggml.token_type', gguf.i32s(Int32Array.from(types))],
      ['tokenizer.ggml.merges', gguf.strings(merges)],
      ...specialKeys(inp, tokens, { addBos }),
    ],
  };
}

/** The tokenizer keys of the checkpoint, or an InputError saying which file is missing. */
export function convertTokenizer(inp: TokenizerInputs): ConvertedTokenizer {
  const spm = inp.files.get('tokenizer.model');
  if (spm !== undefined) return sentencePiece(inp, spm);
  const json = inp.files.get('tokenizer.json');
  if (json !== undefined) return bytePairs(inp, json);
  throw new InputError('the checkpoint has no tokenizer.model or tokenizer.json', { file: inp.locate('') });
}
