/**
 * Content fingerprints that identify an evaluation across machines, where paths differ (a Slurm job's
 * node mounts the model elsewhere) but the bytes are the same.
 *
 * - Model: file size + sha256 of a sample of the file: the first and last MiB (GGUF header, metadata
 *   and the first and last tensors) and 16 blocks of 64 KiB spread evenly in between. Reading 3 MiB
 *   instead of a 15 GB file keeps resuming instant; two models of one size that differ only outside
 *   the sampled blocks would collide, which fine-tuning (every weight changes) does not produce.
 *   `full: true` hashes the whole file.
 * - Panel: sha256 of the panel store's content in a canonical form (workers in order with traits,
 *   records and splits; the taxonomy's entries), so a re-split or an edited record changes it while
 *   re-writing the same panel does not.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { NotFoundError } from '../errors.js';
import type { PanelStore } from '../io/index.js';

export interface ModelFingerprint {
  file: string;
  size: number;
  /** "sample-v1:<sha256>" or "full:<sha256>". */
  sha256: string;
}

const MIB = 1 << 20;
const BLOCK = 64 << 10;
const MIDDLE_BLOCKS = 16;

export async function modelFingerprint(path: string, opts: { full?: boolean } = {}): Promise<ModelFingerprint> {
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch {
    throw new NotFoundError(`model file not found: ${path}`);
  }
  const hash = createHash('sha256');
  if (opts.full) {
    await new Promise<void>((done, fail) => {
      createReadStream(path)
        .on('data', (chunk) => hash.update(chunk))
        .on('end', done)
        .on('error', fail);
    });
    return { file: basename(path), size, sha256: `full:${hash.digest('hex')}` };
  }
  const ranges: [number, number][] = [];
  if (size <= 2 * MIB + MIDDLE_BLOCKS * BLOCK) {
    ranges.push([0, size]);
  } else {
    ranges.push([0, MIB]);
    const span = size - 2 * MIB - BLOCK;
    for (let i = 0; i < MIDDLE_BLOCKS; i++) ranges.push([MIB + Math.floor((span * (i + 1)) / (MIDDLE_BLOCKS + 1)), BLOCK]);
    ranges.push([size - MIB, MIB]);
  }
  const fh = await open(resolve(path), 'r');
  try {
    for (const [pos, len] of ranges) {
      const buf = Buffer.alloc(len);
      const { bytesRead } = await fh.read(buf, 0, len, pos);
      hash.update(buf.subarray(0, bytesRead));
    }
  } finally {
    await fh.close();
  }
  return { file: basename(path), size, sha256: `sample-v1:${hash.digest('hex')}` };
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
