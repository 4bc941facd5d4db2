/**
 * The public Scorer interface: a scorer written outside src/eval plugs into evaluate() unchanged, is
 * called in the documented order (identify, start, scoreWorker..., free), is not started for a
 * complete run, and its identity guards a resumed run.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { evaluate } from '../../src/eval/evaluate.js';
import { rawResult, type RunIdentity, type Scorer, type ScorerContext, type ScorerFacts } from '../../src/eval/scorer.js';
import type { Worker } from '../../src/data/panel/types.js';
import { ResultsStore } from '../../src/results/results-store.js';
import type { StoredResult } from '../../src/results/types.js';
import { type PanelFixture, removeTempDirs, tempDir, writeSyntheticPanel } from '../helpers/eval-fixtures.js';

afterAll(removeTempDirs);

let fx: PanelFixture;
beforeAll(async () => {
  fx = await writeSyntheticPanel({ workers: 20, maxRecords: 4 });
});

/** Every code equally likely, with a tag in its identity; records the calls it gets. */
class UniformTagged implements Scorer {
  readonly defaultRunName = 'mine';
  readonly calls: string[] = [];
  private size = 0;
  constructor(private readonly tag: string) {}
  async identify(ctx: ScorerContext): Promise<RunIdentity> {
    this.calls.push('identify');
    return { kind: 'baseline', config: { tag: this.tag, taxonomy: ctx.dataset.store.taxonomy.name } };
  }
  async start(ctx: ScorerContext): Promise<ScorerFacts> {
    this.calls.push('start');
    this.size = ctx.dataset.store.taxonomy.size;
    return { info: { mine: true }, session: {} };
  }
  async scoreWorker(worker: Worker): Promise<StoredResult[]> {
    this.calls.push('score');
    const lp = -Math.log(this.size);
    return worker.records.map((_, i) => ({ ...rawResult(worker, i, lp), logProb: lp, validMass: 1 }));
  }
  stats(): null {
    return null;
  }
  async free(): Promise<void> {
    this.calls.push('free');
  }
}

describe('a Scorer of your own', () => {
  it('is identified, started, run over every worker and freed; a complete run is not started again', async () => {
    const out = join(await tempDir(), 'r.duckdb');
    const s = new UniformTagged('a');
    const r = await evaluate({ data: fx.dir, out, scorer: s, limit: 5 });
    expect(r.run).toBe('mine');
    expect(r.kind).toBe('baseline');
    expect(r.complete).toBe(true);
    expect(s.calls).toEqual(['identify', 'start', 'score', 'score', 'score', 'score', 'score', 'free']);
    const store = await ResultsStore.open(out, { readOnly: true });
    try {
      const run = await store.getRun('mine');
      expect(run?.config).toEqual({ tag: 'a', taxonomy: fx.taxonomy.name });
      expect(run?.info.mine).toBe(true);
      const rows = await store.results('mine');
      expect(rows.length).toBe(r.transitions.total);
      expect(rows.every((x) => Math.abs(x.logProb! + Math.log(fx.taxonomy.size)) < 1e-12)).toBe(true);
    } finally {
      await store.close();
    }

    const again = new UniformTagged('a');
    await evaluate({ data: fx.dir, out, scorer: again, limit: 5 });
    expect(again.calls).toEqual(['identify']);

    const other = new UniformTagged('b');
    await expect(evaluate({ data: fx.dir, out, scorer: other, limit: 5 })).rejects.toThrow(InputError);
    await expect(evaluate({ data: fx.dir, out, scorer: other, limit: 5 })).rejects.toThrow(/tag/);
    expect(other.calls.includes('start')).toBe(false);
  });
});
