/**
 * Content fingerprints that identify an evaluation across machines, where paths differ (a Slurm job's
 * node mounts the model elsewhere) but the bytes are the same.
 *
 * - Model: file size + sha256 of the whole file. Hashing runs once per file version (about 0.5-1 s a
 *   GB, see docs/failure-behaviour.md) and is cached by (device, inode, size, mtime, ctime) in
 *   `<cache>/labor-llm/model-hashes.json`: any write to the file changes its ctime, which no tool can
 *   set back, so a model changed in place is hashed again. (The sample hash it replaces, 3 MiB of the
 *   file, let a change outside the sampled blocks resume the old run with a different model.)
 *   `full: true` ignores the cache and hashes again.
 * - Panel: sha256 of the panel store's content in a canonical form (workers in order with traits,
 *   records and splits; the taxonomy's entries), so a re-split or an edited record changes it while
 *   re-writing the same panel does not.
 */
import { createHash } from 'node:crypto';
import { createReadStream, type BigIntStats } from 'node:fs';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { InputError, NotFoundError } from '../errors.js';
import type { PanelStore } from '../data/io/index.js';
import { temporarySibling } from '../data/io/atomic.js';

export interface ModelFingerprint {
  file: string;
  size: number;
  /** "full:<sha256>" of the whole file. */
  sha256: string;
}

/** Where hashes are cached: LABOR_LLM_CACHE_DIR, else $XDG_CACHE_HOME/labor-llm, else ~/.cache/labor-llm. */
export function hashCachePath(): string {
  const base = process.env.LABOR_LLM_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'labor-llm');
  return join(base, 'model-hashes.json');
}

interface CacheEntry {
  path: string;
  size: number;
  mtimeNs: string;
  ctimeNs: string;
  sha256: string;
}

async function readCache(file: string): Promise<Record<string, CacheEntry>> {
  try {
    const v = JSON.parse(await readFile(file, 'utf8')) as unknown;
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, CacheEntry>) : {};
  } catch {
    return {}; // missing or damaged: a cache, so start over
  }
}

/** Best effort: a cache that cannot be written only costs the next run a re-hash. */
async function writeCache(file: string, key: string, entry: CacheEntry): Promise<void> {
  try {
    const cache = await readCache(file);
    cache[key] = entry;
    await mkdir(resolve(file, '..'), { recursive: true });
    const tmp = temporarySibling(file);
    await writeFile(tmp, JSON.stringify(cache));
    await rename(tmp, file);
  } catch {
    // ignored on purpose (read-only home, full disk)
  }
}

function hashFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  return new Promise<string>((done, fail) => {
    createReadStream(path, { highWaterMark: 1 << 20 })
      .on('data', (chunk) => hash.update(chunk))
      .on('end', () => done(hash.digest('hex')))
      .on('error', fail);
  });
}

export async function modelFingerprint(path: string, opts: { full?: boolean } = {}): Promise<ModelFingerprint> {
  let st: BigIntStats;
  try {
    st = await stat(path, { bigint: true });
  } catch {
    throw new NotFoundError(`model file not found: ${path}`);
  }
  if (!st.isFile()) throw new InputError('the model must be a GGUF file, not a folder or device', { file: path });
  const size = Number(st.size);
  const key = `${st.dev}:${st.ino}`;
  const entry = { path: resolve(path), size, mtimeNs: String(st.mtimeNs), ctimeNs: String(st.ctimeNs) };
  const cacheFile = hashCachePath();
  if (!opts.full) {
    const hit = (await readCache(cacheFile))[key];
    if (hit && hit.size === entry.size && hit.mtimeNs === entry.mtimeNs && hit.ctimeNs === entry.ctimeNs && /^[0-9a-f]{64}$/.test(hit.sha256)) {
      return { file: basename(path), size, sha256: `full:${hit.sha256}` };
    }
  }
  const sha256 = await hashFile(path);
  // A file written while it was hashed gets no cache entry (its ctime moved).
  const after = await stat(path, { bigint: true });
  if (after.ctimeNs === st.ctimeNs && after.size === st.size) await writeCache(cacheFile, key, { ...entry, sha256 });
  return { file: basename(path), size, sha256: `full:${sha256}` };
}

/** sha256 of a panel store's canonical content (see the module comment). */
export function panelFingerprint(store: PanelStore): string {
  const hash = createHash('sha256');
  hash.update(JSON.stringify({ taxonomy: store.taxonomy.name, entries: store.taxonomy.entries }));
  hash.update('\n');
  for (const w of store.panel.workers) {
    hash.update(
      JSON.stringify([
        w.id,
        w.dataset,
        w.birthYear,
        w.gender,
        w.ethnicity,
        w.region,
        w.state ?? null,
        store.splits.get(w.id) ?? null,
        w.records.map((r) => [r.year, r.code, r.education, r.trueProbability ?? null]),
      ]),
    );
    hash.update('\n');
  }
  return hash.digest('hex');
}
