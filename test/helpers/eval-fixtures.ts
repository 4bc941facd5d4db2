/**
 * Fixtures of the evaluation tests: a small taxonomy (so that scoring every title stays fast with the
 * tiny models), synthetic panel stores written to temp folders, and temp-folder cleanup. No vitest
 * import, so scripts run as child processes can use it too.
 */
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initTensor, loadTokenizer, tinyLlamaShape, writeLlamaModel } from '../../src/models/gguf/index.js';
import { completeSplits, writePanelDir } from '../../src/data/io/index.js';
import type { Panel } from '../../src/data/panel/types.js';
import { synthesizePanel } from '../../src/data/synth/index.js';
import { ResultsStore } from '../../src/results/results-store.js';
import type { StoredResult } from '../../src/results/types.js';
import { packageRoot } from '../../src/package.js';
import { loadTaxonomy, Taxonomy } from '../../src/data/taxonomy/taxonomy.js';
import { testModelsDir } from './models.js';

const made: string[] = [];

/** A fresh temp folder, removed by removeTempDirs() (tests call it in afterAll). */
export async function tempDir(prefix = 'labor-llm-eval-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

export async function removeTempDirs(): Promise<void> {
  while (made.length > 0) await rm(made.pop() as string, { recursive: true, force: true });
}

/** 18 occ1990dd entries (every 25th occupation and the special states), with their real titles and groups. */
export function smallTaxonomy(): Taxonomy {
  const full = loadTaxonomy('occ1990dd');
  const special = new Set(['9001', '9002', '9003', '905']);
  return new Taxonomy(
    'occ-small',
    full.entries.filter((e, i) => i % 25 === 0 || special.has(e.code)),
  );
}

export interface PanelFixture {
  dir: string;
  panel: Panel;
  taxonomy: Taxonomy;
}

/**
 * A synthetic panel store: `workers` workers of `profile` (or of each of `profiles`), careers cut to `maxRecords` records (so a test
 * scores few transitions), splits 50/10/40 so the test split has many workers.
 */
export async function writeSyntheticPanel(opts: {
  workers: number;
  seed?: number;
  profile?: string;
  /** Several surveys in one panel (`workers` of each). */
  profiles?: string[];
  maxRecords?: number;
  taxonomy?: Taxonomy;
  splits?: boolean;
}): Promise<PanelFixture> {
  const taxonomy = opts.taxonomy ?? smallTaxonomy();
  const profiles = opts.profiles ?? [opts.profile ?? 'nlsy79'];
  const workers = profiles.flatMap((profile) => synthesizePanel({ profile, workers: opts.workers, seed: opts.seed ?? 3, taxonomy }).panel.workers);
  const maxRecords = opts.maxRecords ?? 6;
  const cut: Panel = { taxonomy: taxonomy.name, workers: workers.map((w) => ({ ...w, records: w.records.slice(0, maxRecords) })) };
  const splits =
    opts.splits === false
      ? new Map()
      : completeSplits(cut, new Map(), { seed: 11, fractions: { train: 0.5, valid: 0.1, test: 0.4 } }).splits;
  const dir = join(await tempDir('labor-llm-panel-'), 'panel');
  await writePanelDir(dir, { panel: cut, splits, taxonomy, source: { test: true } });
  return { dir, panel: cut, taxonomy };
}

/**
 * A tiny llama model with a BERT WordPiece vocabulary (lowercasing, [UNK] for what it does not know):
 * a model that cannot write most titles as they are spelled. Cached like the other test models.
 */
export async function lowercasingModelPath(): Promise<string> {
  const out = join(testModelsDir(), 'eval-bert-vocab-s1.gguf');
  if (existsSync(out)) return out;
  mkdirSync(testModelsDir(), { recursive: true });
  const tokenizer = await loadTokenizer({ path: join(packageRoot(), 'vendor', 'llama.cpp', 'models', 'ggml-vocab-bert-bge.gguf') });
  const { shape } = await tinyLlamaShape({ vocab: 'llama-spm' });
  const tmp = `${out}.${process.pid}.tmp`;
  await writeLlamaModel({ out: tmp, shape: { ...shape, nVocab: tokenizer.nVocab }, tokenizer, type: 'f32', weights: (s) => initTensor(s, 1) });
  renameSync(tmp, out);
  return out;
}

/** The stored rows of one run of a results store, in worker and record order. */
export async function readRun(path: string, run: string): Promise<StoredResult[]> {
  const s = await ResultsStore.open(path, { readOnly: true });
  try {
    return await s.results(run);
  } finally {
    await s.close();
  }
}

/** Everything a store holds except timestamps and session logs. */
export async function storeSnapshot(path: string): Promise<unknown> {
  const s = await ResultsStore.open(path, { readOnly: true });
  try {
    const runs = await s.runs();
    const out: Record<string, unknown> = {
      dataset: s.meta.dataset,
      shards: s.meta.shards,
      taxonomy: s.meta.taxonomy,
      workers: await s.workers(),
    };
    for (const r of runs) {
      out[`run:${r.name}`] = { kind: r.kind, config: r.config, progress: await s.progress(r.name), results: await s.results(r.name) };
    }
    return out;
  } finally {
    await s.close();
  }
}
