/**
 * `slurm status` and `slurm resume` against stand-in Slurm commands on PATH (the real cluster test
 * cannot hold a shard in the queue on demand): with one shard complete, one whose job was cancelled
 * and one still running, resume resubmits only the cancelled one, replaces the merge job, and makes the
 * new merge wait for the new array and for the still-running task; with the queue unreachable it
 * refuses rather than risk two jobs on one store.
 */
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluate } from '../../src/eval/evaluate.js';
import { BaselineScorer } from '../../src/eval/baseline.js';
import { resumeSlurmEval } from '../../src/slurm/resume.js';
import { slurmStatus } from '../../src/slurm/status.js';
import { planSlurmEval, submitSlurmEval } from '../../src/slurm/submit.js';
import { runCli } from '../helpers/run-cli.js';
import { removeTempDirs, tempDir, writeSyntheticPanel } from '../helpers/eval-fixtures.js';

let root: string;
let bin: string;
let savedPath: string | undefined;

/** A stand-in for a Slurm command: logs its arguments, prints `<tool>.out`, exits with `<tool>.rc` (default 0). */
function fakeTool(tool: string): void {
  const path = join(bin, tool);
  const q = (f: string): string => JSON.stringify(join(root, f));
  const body =
    tool === 'sbatch'
      ? `n=$(( $(cat ${q('next-id')}) )); echo $((n + 1)) > ${q('next-id')}; echo $n`
      : `cat ${q(`${tool}.out`)} 2>/dev/null; exit $(cat ${q(`${tool}.rc`)} 2>/dev/null || echo 0)`;
  writeFileSync(path, `#!/bin/sh\necho "${tool} $*" >> ${q('calls.txt')}\n${body}\n`);
  chmodSync(path, 0o755);
}

function calls(): string[] {
  return readFileSync(join(root, 'calls.txt'), 'utf8').trim().split('\n').filter((l) => !/^(squeue|sacct|scontrol) /.test(l));
}

beforeAll(async () => {
  root = await tempDir('labor-llm-slurm-resume-');
  bin = join(root, 'bin');
  mkdirSync(bin);
  for (const t of ['sbatch', 'squeue', 'sacct', 'scontrol', 'scancel']) fakeTool(t);
  writeFileSync(join(root, 'next-id'), '101');
  writeFileSync(join(root, 'calls.txt'), '');
  savedPath = process.env.PATH;
  process.env.PATH = `${bin}:${savedPath ?? ''}`;
});

afterAll(async () => {
  process.env.PATH = savedPath;
  await removeTempDirs();
});

describe('slurm resume', () => {
  it('resubmits only the shards neither complete nor queued, and a merge that waits for every unfinished one', async () => {
    const fx = await writeSyntheticPanel({ workers: 40, seed: 2 });
    const dir = join(root, 'run');
    const evalArgs = ['--baseline', 'uniform', '--data', fx.dir];
    const { run } = await submitSlurmEval(planSlurmEval({ dir, shards: 3, evalArgs }));
    expect(run.submissions[0]).toMatchObject({ arrayJob: '101', mergeJob: '102' });
    // Shard 0 finished; shard 1's job was cancelled before it wrote anything; shard 2 is running.
    await evaluate({ data: fx.dir, out: run.stores[0]!, shard: '0/3', scorer: new BaselineScorer('uniform') });
    writeFileSync(join(root, 'squeue.out'), '101_2|RUNNING|None\n102|PENDING|Dependency\n');
    writeFileSync(join(root, 'sacct.out'), 'Slurm accounting storage is disabled\n');
    writeFileSync(join(root, 'sacct.rc'), '1');
    writeFileSync(
      join(root, 'scontrol.out'),
      ['JobId=104 ArrayJobId=101 ArrayTaskId=0 JobState=COMPLETED', 'JobId=105 ArrayJobId=101 ArrayTaskId=1 JobState=CANCELLED', ''].join('\n'),
    );

    const st = await slurmStatus(dir);
    expect(st.jobSource).toBe('squeue+scontrol');
    expect(st.shards.map((s) => [s.job?.id, s.job?.state, s.complete, s.exists])).toEqual([
      ['101_0', 'COMPLETED', true, true],
      ['101_1', 'CANCELLED', false, false],
      ['101_2', 'RUNNING', false, false],
    ]);
    expect(st.merged.job).toMatchObject({ id: '102', state: 'PENDING', reason: 'Dependency', live: true });
    const table = await runCli(['slurm', 'status', dir]);
    expect(table.stdout).toContain('1 of 3 shards complete');
    expect(table.stdout).toMatch(/\n1\s+101_1\s+CANCELLED\s+no store yet\s+-\n/);

    const r = await resumeSlurmEval(dir);
    expect(r).toMatchObject({ resubmitted: [1], queued: [2], complete: [0], cancelledMerge: '102' });
    expect(calls()).toEqual([
      `sbatch --parsable ${join(run.dir, 'eval.sbatch')}`,
      `sbatch --parsable --dependency=afterok:101 --kill-on-invalid-dep=yes ${join(run.dir, 'merge.sbatch')}`,
      `sbatch --parsable --array=1 ${join(run.dir, 'eval.sbatch')}`,
      'scancel 102',
      `sbatch --parsable --dependency=afterok:103:101_2 --kill-on-invalid-dep=yes ${join(run.dir, 'merge.sbatch')}`,
    ]);
    const manifest = JSON.parse(readFileSync(join(dir, 'slurm-run.json'), 'utf8')) as { submissions: unknown[] };
    expect(manifest.submissions).toEqual([
      { at: expect.any(String), shards: [0, 1, 2], arrayJob: '101', mergeJob: '102' },
      { at: expect.any(String), shards: [1], arrayJob: '103', mergeJob: '104' },
    ]);

    // Shard 1's new task is now queued too: nothing more to submit, and the merge job waits already.
    writeFileSync(join(root, 'squeue.out'), '101_2|RUNNING|None\n103_1|PENDING|Priority\n104|PENDING|Dependency\n');
    const again = await runCli(['slurm', 'resume', dir, '--json']);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ resubmitted: [], queued: [1, 2], complete: [0], submission: null });
    expect(calls()).toHaveLength(5);

    // Without the queue, a running shard cannot be told from a dead one: resume refuses, status still reads the stores.
    writeFileSync(join(root, 'squeue.rc'), '1');
    writeFileSync(join(root, 'squeue.out'), 'slurm_load_jobs error: Unable to contact slurm controller\n');
    const refused = await runCli(['slurm', 'resume', dir]);
    expect(refused.code).toBe(6);
    expect(refused.stderr).toMatch(/cannot resume without Slurm's queue: no job states: squeue failed/);
    const blind = await runCli(['slurm', 'status', dir, '--json']);
    expect(blind.code, blind.stderr).toBe(0);
    expect((JSON.parse(blind.stdout) as { shards: { complete: boolean; job: unknown }[] }).shards.map((s) => [s.complete, s.job])).toEqual([
      [true, null],
      [false, null],
      [false, null],
    ]);
    expect(calls()).toHaveLength(5);
  });
});
