/**
 * Interruptions and shards: a CLI evaluation SIGKILLed at random points and resumed ends with exactly
 * the results of an uninterrupted run; shard stores merged equal one unsharded store.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BaselineScorer } from '../../src/eval/baseline.js';
import { evaluate, type EvaluateOptions } from '../../src/eval/evaluate.js';
import { ModelScorer } from '../../src/eval/model-scorer.js';
import { buildReport } from '../../src/report/build.js';
import type { Report } from '../../src/report/types.js';
import { mergeStores } from '../../src/results/merge.js';
import { ResultsStore } from '../../src/results/results-store.js';
import { Prng } from '../../src/data/synth/prng.js';
import { packageRoot } from '../../src/package.js';
import { tinyModelPath } from '../helpers/models.js';
import { type PanelFixture, removeTempDirs, storeSnapshot as snapshot, tempDir, writeSyntheticPanel } from '../helpers/eval-fixtures.js';
import { runCli as runInProcess } from '../helpers/run-cli.js';

afterAll(removeTempDirs);

let fx: PanelFixture;
let model: string;

beforeAll(async () => {
  fx = await writeSyntheticPanel({ workers: 150, maxRecords: 6, seed: 5 });
  model = await tinyModelPath('llama-spm', 1);
});

interface ChildRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  ms: number;
  stderr: string;
}

/** Runs the CLI in a child process; with `killAfterMs`, SIGKILLs it then (if it is still running). */
function runCli(args: string[], killAfterMs?: number): Promise<ChildRun> {
  const started = performance.now();
  const child = spawn(process.execPath, ['--import', 'tsx', join('test', 'helpers', 'cli-entry.ts'), ...args], {
    cwd: packageRoot(),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const timer = killAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), killAfterMs);
  return new Promise((done) => {
    child.on('exit', (code, signal) => {
      if (timer) clearTimeout(timer);
      done({ code, signal, ms: performance.now() - started, stderr });
    });
  });
}

describe('kill and resume', () => {
  it('a run SIGKILLed at random moments resumes to exactly the uninterrupted results', async () => {
    const dir = await tempDir();
    const evalArgs = (out: string): string[] => [
      'eval', '--model', model, '--data', fx.dir, '--template', 'resume', '--mode', 'distribution',
      '--out', out, '--threads', '2', '--commit-interval', '0', '--quiet',
    ];
    const reference = join(dir, 'reference.duckdb');
    const clean = await runCli(evalArgs(reference));
    expect(clean.code, clean.stderr).toBe(0);

    // A run of one worker: about the start-up and tear-down time (model loading, store creation).
    const noop = await runCli([...evalArgs(join(dir, 'one.duckdb')), '--limit', '1']);
    expect(noop.code, noop.stderr).toBe(0);
    const scoringMs = Math.max(500, clean.ms - noop.ms);

    const out = join(dir, 'killed.duckdb');
    const rng = new Prng(2024);
    const doneAtKill: number[] = [];
    let total = 0;
    let done = 0;
    let midRunKills = 0;
    let finished = false;
    // Start-up as measured; stretched whenever a kill came before any new worker was committed.
    let startupMs = noop.ms;
    for (let attempt = 0; attempt < 12 && !finished; attempt++) {
      // Kill at a random moment from the middle of start-up (model loading, store creation) into the
      // scoring of what is left, until at least two kills have hit a run in the middle of its workers;
      // then let it finish.
      const kill = midRunKills < 2 || doneAtKill.length < 3;
      const remainingMs = total > 0 ? scoringMs * (1 - done / total) : scoringMs;
      const delay = kill ? startupMs * (0.7 + 0.6 * rng.next()) + rng.next() * 0.4 * remainingMs : undefined;
      const r = await runCli(evalArgs(out), delay);
      if (r.signal !== 'SIGKILL') {
        expect(r.code, r.stderr).toBe(0);
        finished = true;
        break;
      }
      let now = 0;
      if (existsSync(out)) {
        const s = await ResultsStore.open(out, { readOnly: true });
        total = (await s.workers()).length;
        const run = (await s.runs())[0];
        now = run ? (await s.progress(run.name)).workersDone : 0;
        await s.close();
      }
      if (now > done && now < total) midRunKills++;
      if (now === done) startupMs *= 1.25;
      done = now;
      doneAtKill.push(now);
    }
    expect(finished).toBe(true);
    expect(doneAtKill.length, `workers done at each kill: ${doneAtKill.join(', ')}`).toBeGreaterThanOrEqual(3);
    expect(midRunKills, `workers done at each kill: ${doneAtKill.join(', ')} of ${total}`).toBeGreaterThanOrEqual(2);
    expect(await snapshot(out)).toEqual(await snapshot(reference));
  });
});

describe('shards and merge', () => {
  it('merged shard stores equal one unsharded store', async () => {
    const dir = await tempDir();
    // The first 24 workers of the split: limits apply before sharding.
    const limit = 24;
    const base = (out: string, shard?: string): EvaluateOptions => ({
      data: fx.dir,
      out,
      limit,
      scorer: new ModelScorer({ model, template: 'resume', mode: 'distribution', engine: { threads: 2 } }),
      ...(shard ? { shard } : {}),
    });
    const whole = join(dir, 'whole.duckdb');
    const llmRun = (await evaluate(base(whole))).run;
    await evaluate({ data: fx.dir, out: whole, limit, scorer: new BaselineScorer('empirical') });
    const shards = [0, 1, 2].map((i) => join(dir, `shard-${i}.duckdb`));
    for (const [i, path] of shards.entries()) {
      const r = await evaluate(base(path, `${i}/3`));
      expect(r.shard).toBe(`${i}/3`);
      // Shard 2 never gets the baseline: the merged store has it incomplete, and eval finishes it there.
      if (i < 2) await evaluate({ data: fx.dir, out: path, limit, scorer: new BaselineScorer('empirical'), shard: `${i}/3` });
    }
    const sizes = await Promise.all(
      shards.map(async (p) => {
        const s = await ResultsStore.open(p, { readOnly: true });
        const n = (await s.workers()).length;
        await s.close();
        return n;
      }),
    );
    expect(sizes.every((n) => n > 0)).toBe(true);

    // The report reads shard stores directly too, and refuses an incomplete set of them.
    const fromShards = await buildReport(shards, { B: 40, seed: 1, allowPartial: true });
    expect(fromShards.notes.join('\n')).toMatch(/Incomplete runs reported.*"empirical" \(\d+ of 24 workers\)/);
    await expect(buildReport(shards.slice(0, 2), { B: 40, seed: 1, runs: [llmRun] })).rejects.toThrow(/hold shards 0,1 of 3 of one evaluation/);
    const fromWhole = await buildReport([whole], { B: 40, seed: 1 });
    const pplOf = (r: Report) => r.perplexity.find((c) => c.run === llmRun)!.perplexity;
    // Rows are read in evaluation order from any stores: the same numbers, bootstrap draws included.
    expect(pplOf(fromShards)).toEqual(pplOf(fromWhole));

    const merged = join(dir, 'merged.duckdb');
    // Shard 2 lacks the baseline: merge refuses it, writing nothing, unless told to merge anyway.
    const { code: refused, stderr: message } = await runInProcess(['merge', merged, ...shards]);
    expect(refused).toBe(2);
    expect(message).toMatch(/shard-2\.duckdb \(field "runs\.empirical"\): run "empirical" is missing: finish this shard first.*--allow-incomplete/);
    expect(existsSync(merged)).toBe(false);
    const { code, stdout: written } = await runInProcess(['merge', merged, ...shards, '--allow-incomplete', '--json']);
    expect(code).toBe(0);
    const printed = JSON.parse(written) as { workers: number; shards: unknown };
    expect(printed.workers).toBe(limit);
    expect(printed.shards).toEqual({ count: 1, indices: [0] });
    const m = await ResultsStore.open(merged, { readOnly: true });
    expect((await m.progress('empirical')).complete).toBe(false);
    await m.close();
    const finish = await evaluate({ data: fx.dir, out: merged, limit, scorer: new BaselineScorer('empirical') });
    expect(finish.workers.alreadyDone).toBe(sizes[0]! + sizes[1]!);
    expect(await snapshot(merged)).toEqual(await snapshot(whole));

    // A partial merge keeps the shard numbering.
    const partial = await mergeStores(join(dir, 'partial.duckdb'), [shards[2]!, shards[0]!], { allowIncomplete: true });
    expect(partial.shards).toEqual({ count: 3, indices: [0, 2] });
  });

  it('refuses overlapping shards, other evaluations and conflicting runs, writing nothing', async () => {
    const dir = await tempDir();
    const opts = (out: string, shard: string, extra: Partial<EvaluateOptions> = {}): EvaluateOptions => ({
      data: fx.dir,
      out,
      scorer: new BaselineScorer('uniform'),
      shard,
      ...extra,
    });
    const a = join(dir, 'a.duckdb');
    const b = join(dir, 'b.duckdb');
    const c = join(dir, 'c.duckdb');
    const d = join(dir, 'd.duckdb');
    const e = join(dir, 'e.duckdb');
    await evaluate(opts(a, '0/2'));
    await evaluate(opts(b, '0/2', { topK: 3 }));
    await evaluate(opts(c, '1/2', { limit: 10 }));
    await evaluate(opts(d, '1/3'));
    await evaluate(opts(e, '1/2', { topK: 3 }));
    const out = join(dir, 'out.duckdb');
    await expect(mergeStores(out, [a, b])).rejects.toThrow(/shard 0\/2 is also in/);
    await expect(mergeStores(out, [a, c])).rejects.toThrow(/not from the same evaluation.*limit/);
    await expect(mergeStores(out, [a, d])).rejects.toThrow(/split into 3 shards/);
    await expect(mergeStores(out, [a, e])).rejects.toThrow(/run "uniform" has another configuration than in the other inputs: topK/);
    expect(existsSync(out)).toBe(false);
    const { code, stderr: message } = await runInProcess(['merge', out, a, b]);
    expect(code).toBe(2);
    expect(message).toMatch(/b\.duckdb \(field "shards"\): shard 0\/2 is also in/);
    expect(existsSync(out)).toBe(false);
  });
});
