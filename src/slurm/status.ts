/**
 * `slurm status`: each shard's progress from its store beside Slurm's state of the job that last ran
 * it, and the merge job's state.
 */
import { existsSync } from 'node:fs';
import { LaborLlmError } from '../errors.js';
import { readRun, type SlurmRun } from './run-dir.js';
import { readShardProgress, type ShardProgress } from './shard-progress.js';
import { type JobState, type JobStates, jobStates } from './tools.js';

export interface ShardStatus extends ShardProgress {
  /** Slurm's word on the latest job of this shard; null if never submitted or forgotten by Slurm. */
  job: (JobState & { id: string }) | null;
}

export interface SlurmStatus {
  run: SlurmRun;
  shards: ShardStatus[];
  merged: { path: string; exists: boolean; job: (JobState & { id: string }) | null };
  /** Where job states came from, or why there are none (no Slurm commands here). */
  jobSource: JobStates['source'] | null;
  notes: string[];
}

/** The latest submission's array job that included `shard`. */
export function latestArrayJob(run: SlurmRun, shard: number): string | null {
  for (let i = run.submissions.length - 1; i >= 0; i--) {
    const s = run.submissions[i]!;
    if (s.arrayJob !== null && s.shards.includes(shard)) return s.arrayJob;
  }
  return null;
}

function latestMergeJob(run: SlurmRun): string | null {
  for (let i = run.submissions.length - 1; i >= 0; i--) {
    const id = run.submissions[i]!.mergeJob;
    if (id !== null) return id;
  }
  return null;
}

function taskState(jobs: readonly JobState[], jobId: string | null, task: number | null): (JobState & { id: string }) | null {
  if (jobId === null) return null;
  const exact = jobs.find((j) => j.jobId === jobId && j.task === task);
  // A pending array is one record until Slurm starts splitting it: its tasks are all pending.
  const whole = task === null ? undefined : jobs.find((j) => j.jobId === jobId && j.task === null && j.live);
  const j = exact ?? whole;
  return j ? { ...j, id: task === null ? jobId : `${jobId}_${task}` } : null;
}

export async function slurmStatus(dir: string): Promise<SlurmStatus> {
  const run = await readRun(dir);
  const notes: string[] = [];
  const ids = run.submissions.flatMap((s) => [s.arrayJob, s.mergeJob]).filter((j): j is string => j !== null);
  let states: JobStates | null = null;
  try {
    states = await jobStates(ids);
  } catch (err) {
    // The stores can be read from any machine that mounts the folder; the queue only from the cluster.
    if (!(err instanceof LaborLlmError)) throw err;
    notes.push(`no job states: ${err.message}`);
  }
  if (states?.source === 'squeue+scontrol') notes.push('Slurm accounting (sacct) is off: ended jobs show only while the controller remembers them');
  const now = new Date();
  const shards: ShardStatus[] = [];
  for (let i = 0; i < run.shards; i++) {
    const progress = await readShardProgress(i, run.stores[i]!, now);
    shards.push({ ...progress, job: states ? taskState(states.jobs, latestArrayJob(run, i), i) : null });
  }
  const mergeJob = latestMergeJob(run);
  return {
    run,
    shards,
    merged: { path: run.merged, exists: existsSync(run.merged), job: states ? taskState(states.jobs, mergeJob, null) : null },
    jobSource: states?.source ?? null,
    notes,
  };
}
