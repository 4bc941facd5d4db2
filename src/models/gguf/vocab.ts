/**
 * Real tokenizers for test models: the vocabulary-only GGUF files that ship with llama.cpp
 * (vendor/llama.cpp/models/ggml-vocab-*.gguf). A generated model copies every `tokenizer.*` key from
 * one of them, so llama.cpp tokenizes with the model exactly as it does with the original vocabulary.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { NotFoundError } from '../../errors.js';
import { packageRoot } from '../../package.js';
import { getArrayLength, getString } from './metadata.js';
import { readGguf } from './reader.js';
import type { GgufMetadata } from './types.js';

/** The two vocabularies of the paper's model families: Llama-2 (32k SentencePiece) and Llama-3 (128k BPE). */
export const VOCABS = ['llama-spm', 'llama-bpe'] as const;
export type VocabName = (typeof VOCABS)[number];

export function isVocabName(s: string): s is VocabName {
  return (VOCABS as readonly string[]).includes(s);
}

/** Path of a vocabulary file in the pinned llama.cpp checkout. */
export function vocabFilePath(vocab: VocabName): string {
  const path = join(packageRoot(), 'vendor', 'llama.cpp', 'models', `ggml-vocab-${vocab}.gguf`);
  if (!existsSync(path)) {
    throw new NotFoundError(`${path}: vocabulary file not found (run the install step that fetches vendor/llama.cpp)`);
  }
  return path;
}

export interface Tokenizer {
  /** Every `tokenizer.*` key of the source file, in its order. */
  metadata: GgufMetadata;
  nVocab: number;
  /** tokenizer.ggml.model ('llama' for SentencePiece, 'gpt2' for byte-level BPE). */
  model: string;
  source: string;
}

const cache = new Map<string, Promise<Tokenizer>>();

/** Loads the tokenizer keys of a vocabulary (by name, or any GGUF path); cached per process. */
export function loadTokenizer(vocab: VocabName | { path: string }): Promise<Tokenizer> {
  const path = typeof vocab === 'string' ? vocabFilePath(vocab) : vocab.path;
  let p = cache.get(path);
  if (p === undefined) {
    p = readTokenizer(path);
    cache.set(path, p);
    p.catch(() => cache.delete(path));
  }
  return p;
}

async function readTokenizer(path: string): Promise<Tokenizer> {
  const file = await readGguf(path);
  const metadata: GgufMetadata = new Map();
  for (const [k, v] of file.metadata) if (k.startsWith('tokenizer.')) metadata.set(k, v);
  return {
    metadata,
    nVocab: getArrayLength(metadata, 'tokenizer.ggml.tokens', path),
    model: getString(metadata, 'tokenizer.ggml.model', path),
    source: path,
  };
}
