/**
 * `slurm eval`: plans a cluster evaluation (the run folder, its two scripts) and submits it: the shard
 * array, then the merge job with `--dependency=afterok:<array>`. The manifest is written before the
 * first sbatch and after each, so a failed submission still leaves a run that `slurm status` and
 * `slurm resume` understand.
 */
import { existsSync } from 'node:fs';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { InputError, ParameterError } from '../errors.js';
import { packageRoot } from '../package.js';
import { runLayout, RUN_FORMAT, RUN_VERSION, type RunLayout, type SlurmRun, type Submission, writeRun } from './run-dir.js';
import { arrayScript, mergeScript, shellQuote, type SlurmResources } from './script.js';
import { sbatch } from './tools.js';

export interface SlurmEvalOptions {
  /** Run folder, on a file system the compute nodes share. */
  dir: string;
  shards: number;
  /** Eval flags for every shard (no --shard, no --out). */
  evalArgs: readonly string[];
  resources?: SlurmResources;
  /** Shell words running labor-llm on a node (default: this node binary and this installation). */
  launcher?: string;
  /** Where jobs start and relative paths resolve (default: the current folder). */
  workDir?: string;
}

export interface SlurmEvalPlan {
  run: SlurmRun;
  layout: RunLayout;
  scripts: { array: string; merge: string };
  /** The sbatch calls `submitSlurmEval` makes, in order (the merge's dependency filled in then). */
  commands: string[][];
}

/** This installation's CLI, run by the node binary running now. */
export function defaultLauncher(): string {
  return `${shellQuote(process.execPath)} ${shellQuote(join(packageRoot(), 'bin', 'labor-llm.js'))}`;
}

export function planSlurmEval(o: SlurmEvalOptions): SlurmEvalPlan {
  if (!Number.isInteger(o.shards) || o.shards < 1) {
    throw new ParameterError('shards', `\`shards\` must be a positive integer, got ${o.shards}`);
  }
  for (const flag of ['--shard', '--out']) {
    if (o.evalArgs.includes(flag)) throw new ParameterError('evalArgs', `${flag} is set per shard by slurm eval; leave it out`);
  }
  const layout = runLayout(o.dir, o.shards);
  if (existsSync(layout.manifest)) {
    throw new InputError(
      `a cluster evaluation is already here: watch it with labor-llm slurm status ${o.dir}, continue it with labor-llm slurm resume ${o.dir}, or choose another --dir`,
      { file: layout.manifest },
    );
  }
  const resources = o.resources ?? {};
  const launcher = o.launcher ?? defaultLauncher();
  const workDir = resolve(o.workDir ?? process.cwd());
  const run: SlurmRun = {
    format: RUN_FORMAT,
    version: RUN_VERSION,
    createdAt: new Date().toISOString(),
    dir: layout.dir,
    workDir,
    shards: o.shards,
    evalArgs: [...o.evalArgs],
    resources,
    launcher,
    stores: layout.stores,
    merged: layout.merged,
    submissions: [],
  };
  const common = { dir: layout.dir, workDir, launcher, stores: layout.stores, resources };
  return {
    run,
    layout,
    scripts: { array: arrayScript({ ...common, evalArgs: run.evalArgs }), merge: mergeScript({ ...common, merged: layout.merged }) },
    commands: [['sbatch', layout.arrayScript], ['sbatch', ...mergeDependency(['<array job id>']), layout.mergeScript]],
  };
}

/** The merge waits for every listed job (or array task, "12_3") to succeed; if one fails it is dropped, not left waiting. */
export function mergeDependency(jobs: readonly string[]): string[] {
  return jobs.length === 0 ? [] : [`--dependency=afterok:${jobs.join(':')}`, '--kill-on-invalid-dep=yes'];
}

/** Writes the run folder and submits the array, then the merge job. */
export async function submitSlurmEval(plan: SlurmEvalPlan): Promise<{ run: SlurmRun; submission: Submission }> {
  const { layout, run } = plan;
  // Slurm does not create the folder of --output: a job writing into a missing one fails unseen.
  await mkdir(layout.logs, { recursive: true });
  await mkdir(join(layout.dir, 'shards'), { recursive: true });
  await writeFile(layout.arrayScript, plan.scripts.array);
  await writeFile(layout.mergeScript, plan.scripts.merge);
  await chmod(layout.arrayScript, 0o755);
  await chmod(layout.mergeScript, 0o755);
  await writeRun(run);
  const submission: Submission = {
    at: new Date().toISOString(),
    shards: Array.from({ length: run.shards }, (_, i) => i),
    arrayJob: null,
    mergeJob: null,
  };
  run.submissions.push(submission);
  submission.arrayJob = await sbatch([layout.arrayScript]);
  await writeRun(run);
  submission.mergeJob = await sbatch([...mergeDependency([submission.arrayJob]), layout.mergeScript]);
  await writeRun(run);
  return { run, submission };
}
