/**
 * `labor-llm slurm eval|status|resume` against a real one-node Slurm cluster (test/helpers/slurm-cluster.ts):
 * a 3-shard array with a tiny model, merged by its dependent job, gives exactly the store and the report
 * of a single-machine run; a shard cancelled midway (scancel) and resumed does not score its finished
 * workers again and ends with the same results. Skipped, with a message, only where Slurm is not installed.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluate } from '../../src/eval/evaluate.js';
import { ModelScorer } from '../../src/eval/model-scorer.js';
import { shardOfWorker } from '../../src/eval/shard.js';
import { buildReport } from '../../src/report/build.js';
import type { Report } from '../../src/report/types.js';
import { readShardProgress } from '../../src/slurm/shard-progress.js';
import { jobStates } from '../../src/slurm/tools.js';
import { ResultsStore } from '../../src/results/results-store.js';
import { packageRoot } from '../../src/package.js';
import { type PanelFixture, removeTempDirs, storeSnapshot, tempDir, writeSyntheticPanel } from '../helpers/eval-fixtures.js';
import { runCli as cli } from '../helpers/run-cli.js';
import { tinyModelPath } from '../helpers/models.js';
import { type SlurmCluster, slurmUnavailable, startSlurmCluster } from '../helpers/slurm-cluster.js';

const unavailable = slurmUnavailable();
if (unavailable) console.warn(`skipping the real-Slurm tests: ${unavailable}`);

const SHARDS = 3;
let cluster: SlurmCluster | null = null;
let savedConf: string | undefined;
let fx: PanelFixture;
let model: string;
let reference: string;
let referenceWorkers: string[];

/** The shard jobs run this checkout's sources (no build needed), with the test's own node. */
const launcher = `${process.execPath} --import tsx ${join(packageRoot(), 'test', 'helpers', 'cli-entry.ts')}`;

function submitArgs(dir: string): string[] {
  return [
    'slurm', 'eval', '--dir', dir, '--shards', String(SHARDS), '--model', model, '--data', fx.dir,
    '--threads', '1', '--commit-interval', '0', '--cpus-per-task', '1', '--labor-llm', launcher, '--json', '--quiet',
  ];
}

async function waitUntil(what: string, ms: number, test: () => Promise<boolean>, pollMs = 250): Promise<void> {
  const end = Date.now() + ms;
  while (!(await test())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}\n${cluster?.logs() ?? ''}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** Until none of these jobs (or their tasks) is queued or running. */
async function waitForJobs(ids: string[], ms = 90_000): Promise<void> {
  await waitUntil(`jobs ${ids.join(', ')} to end`, ms, async () => (await jobStates(ids)).jobs.every((j) => !j.live));
}

/** The report without the store paths (the only thing that differs between two folders). */
function withoutPaths(r: Report): unknown {
  return { ...r, stores: r.stores.map(({ path: _, ...s }) => s), runs: r.runs.map(({ stores: _, ...run }) => run) };
}

async function expectSameAsReference(merged: string): Promise<void> {
  expect(await storeSnapshot(merged)).toEqual(await storeSnapshot(reference));
  const opts = { B: 50, seed: 3 };
  expect(withoutPaths(await buildReport([merged], opts))).toEqual(withoutPaths(await buildReport([reference], opts)));
}

describe.skipIf(unavailable !== null)('slurm eval on a real Slurm cluster', () => {
  beforeAll(async () => {
    fx = await writeSyntheticPanel({ workers: 90, maxRecords: 6, seed: 7 });
    model = await tinyModelPath('llama-spm', 1);
    cluster = await startSlurmCluster({ cpus: SHARDS });
    savedConf = process.env.SLURM_CONF;
    process.env.SLURM_CONF = cluster.conf;
    // The single-machine run every cluster run must reproduce.
    reference = join(await tempDir(), 'reference.duckdb');
    await evaluate({ data: fx.dir, out: reference, scorer: new ModelScorer({ model, template: 'resume', mode: 'distribution', engine: { threads: 1 } }) });
    const s = await ResultsStore.open(reference, { readOnly: true });
    referenceWorkers = (await s.workers()).map((w) => w.workerId);
    await s.close();
  });

  afterAll(async () => {
    if (savedConf === undefined) delete process.env.SLURM_CONF;
    else process.env.SLURM_CONF = savedConf;
    await cluster?.stop();
    await removeTempDirs();
  });

  it('a 3-shard array and its merge job reproduce the single-machine store and report', async () => {
    const dir = join(await tempDir(), 'run');
    const submitted = await cli(submitArgs(dir));
    expect(submitted.code, submitted.stderr).toBe(0);
    const { submission, run } = JSON.parse(submitted.stdout) as { submission: { arrayJob: string; mergeJob: string }; run: { merged: string; stores: string[] } };
    await waitForJobs([submission.arrayJob, submission.mergeJob]);

    const status = await cli(['slurm', 'status', dir, '--json']);
    expect(status.code, status.stderr).toBe(0);
    const st = JSON.parse(status.stdout) as {
      shards: { shard: number; complete: boolean; workersDone: number; workersTotal: number; job: { id: string; state: string } }[];
      merged: { exists: boolean; job: { state: string } };
    };
    expect(st.merged, cluster!.logs()).toMatchObject({ exists: true, job: { state: 'COMPLETED' } });
    expect(st.shards.map((s) => [s.shard, s.job.id, s.job.state, s.complete])).toEqual(
      [0, 1, 2].map((i) => [i, `${submission.arrayJob}_${i}`, 'COMPLETED', true]),
    );
    // Each shard holds exactly its share of the workers.
    for (const s of st.shards) {
      expect(s.workersDone).toBe(referenceWorkers.filter((w) => shardOfWorker(w, SHARDS) === s.shard).length);
      expect(s.workersTotal).toBe(s.workersDone);
    }
    await expectSameAsReference(run.merged);

    // The human table says the same.
    const table = await cli(['slurm', 'status', dir]);
    expect(table.stdout).toMatch(/3 of 3 shards complete; merged store .*results\.duckdb/);
    expect(table.stdout).toMatch(new RegExp(`\\n0\\s+${submission.arrayJob}_0\\s+COMPLETED\\s+\\d+/\\d+ complete`));
  });

  it('a shard cancelled midway resumes without scoring its finished workers again', async () => {
    const dir = join(await tempDir(), 'run');
    // The shard with the most workers is cancelled: the longest window to catch it midway.
    const sizes = [0, 1, 2].map((i) => referenceWorkers.filter((w) => shardOfWorker(w, SHARDS) === i).length);
    const target = sizes.indexOf(Math.max(...sizes));
    const submitted = await cli(submitArgs(dir));
    expect(submitted.code, submitted.stderr).toBe(0);
    const { submission, run } = JSON.parse(submitted.stdout) as { submission: { arrayJob: string; mergeJob: string }; run: { merged: string; stores: string[] } };
    const store = run.stores[target]!;

    // Cancel once the shard has committed a worker (its store is read through a copy while the job writes).
    await waitUntil(`shard ${target} to commit a worker`, 90_000, async () => ((await readShardProgress(target, store)).workersDone ?? 0) >= 1, 50);
    await cluster!.run('scancel', [`${submission.arrayJob}_${target}`]);
    await waitForJobs([submission.arrayJob, submission.mergeJob]);

    const cancelled = await readShardProgress(target, store);
    const doneAtCancel = cancelled.workersDone!;
    expect(doneAtCancel, 'the shard finished before it could be cancelled: give it more workers').toBeLessThan(sizes[target]!);
    expect(doneAtCancel).toBeGreaterThanOrEqual(1);
    const status = JSON.parse((await cli(['slurm', 'status', dir, '--json'])).stdout) as {
      shards: { complete: boolean; job: { state: string } }[];
      merged: { exists: boolean; job: { state: string } | null };
    };
    expect(status.shards.map((s) => s.complete)).toEqual([0, 1, 2].map((i) => i !== target));
    expect(status.shards[target]!.job.state).toBe('CANCELLED');
    // The merge job never ran: its dependency can no longer be met.
    expect(status.merged.exists).toBe(false);
    expect(status.merged.job?.state).not.toBe('COMPLETED');

    // merge refuses the unfinished shard.
    const refused = await cli(['merge', join(dir, 'by-hand.duckdb'), ...run.stores]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(new RegExp(`run ".*" has ${doneAtCancel} of ${sizes[target]} workers: finish this shard first`));

    const resumed = await cli(['slurm', 'resume', dir, '--json']);
    expect(resumed.code, resumed.stderr).toBe(0);
    const r = JSON.parse(resumed.stdout) as { resubmitted: number[]; queued: number[]; submission: { arrayJob: string; mergeJob: string } };
    expect(r.resubmitted).toEqual([target]);
    expect(r.queued).toEqual([]);
    await waitForJobs([r.submission.arrayJob, r.submission.mergeJob]);

    // The resumed job scored exactly the workers the cancelled one had not finished.
    const s = await ResultsStore.open(store, { readOnly: true });
    const sessions = await s.sessions();
    await s.close();
    expect(sessions).toHaveLength(2);
    expect(sessions[1]!.info.workersDoneAtStart).toBe(doneAtCancel);
    expect(sessions[1]!.workersScored).toBe(sizes[target]! - doneAtCancel);
    expect(sessions[0]!.workersScored + sessions[1]!.workersScored).toBe(sizes[target]);
    await expectSameAsReference(run.merged);

    // Nothing left to resume.
    const again = JSON.parse((await cli(['slurm', 'resume', dir, '--json'])).stdout) as { resubmitted: number[]; submission: unknown };
    expect(again).toMatchObject({ resubmitted: [], submission: null });
  });
});
