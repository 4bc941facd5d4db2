/**
 * Test models on demand: `tinyModelPath('llama-spm')` returns the path of a seeded tiny llama model,
 * generating it on first use into `.cache/test-models/` (git-ignored). Files are keyed on the options
 * and on a hash of the generator's source (src/models/gguf), so a change to the generator never leaves tests
 * on a stale model. Writes are atomic, so test processes running side by side can share the cache.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TINY_LLAMA_VERSION, writeTinyLlama, type TinyPreset, type VocabName } from '../../src/models/gguf/index.js';
import { packageRoot } from '../../src/package.js';

export interface TinyModelOptions {
  /** Weight storage type (default f32: exact comparisons in the engine tests). */
  type?: 'f32' | 'f16';
  preset?: TinyPreset;
}

let generatorHash: string | undefined;

/** Hash of the generator's code, so cached files follow code changes. */
function hashGenerator(): string {
  if (generatorHash === undefined) {
    const dir = join(packageRoot(), 'src', 'models', 'gguf');
    const h = createHash('sha256').update(`v${TINY_LLAMA_VERSION}`);
    for (const f of readdirSync(dir).sort()) {
      if (f.endsWith('.ts')) h.update(f).update(readFileSync(join(dir, f)));
    }
    generatorHash = h.digest('hex').slice(0, 10);
  }
  return generatorHash;
}

export function testModelsDir(): string {
  return join(packageRoot(), '.cache', 'test-models');
}

const pending = new Map<string, Promise<string>>();

/** Path of a cached tiny model with the given vocabulary and seed, generated if missing. */
export function tinyModelPath(vocab: VocabName, seed = 1, options: TinyModelOptions = {}): Promise<string> {
  const type = options.type ?? 'f32';
  const preset = options.preset ?? 'tiny';
  const path = join(testModelsDir(), `${preset}-${vocab}-s${seed}-${type}-${hashGenerator()}.gguf`);
  let p = pending.get(path);
  if (p === undefined) {
    p = existsSync(path)
      ? Promise.resolve(path)
      : writeTinyLlama({ vocab, seed, out: path, type, preset }).then(() => path);
    pending.set(path, p);
    p.catch(() => pending.delete(path));
  }
  return p;
}
