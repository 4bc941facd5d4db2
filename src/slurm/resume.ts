/**
 * `slurm resume`: resubmits the shards that are neither complete in their store nor still queued
 * (killed, cancelled, timed out, failed, never started), as one array of just those task ids; each
 * resumes from its store, so finished workers are not scored again. A new merge job waits for them and
 * for any shard still queued from before; a merge job that can no longer run is cancelled.
 */
import { LaborLlmError, StateError } from '../errors.js';
import { runLayout, type Submission, writeRun } from './run-dir.js';
import { type ShardStatus, slurmStatus, type SlurmStatus } from './status.js';
import { mergeDependency } from './submit.js';
import { sbatch, scancel } from './tools.js';

export interface ResumeResult {
  status: SlurmStatus;
  /** Shards submitted again (empty: nothing to resume). */
  resubmitted: number[];
  /** Shards still queued or running from an earlier submission. */
  queued: number[];
  complete: number[];
  submission: Submission | null;
  /** An earlier merge job cancelled because a new one replaces it. */
  cancelledMerge: string | null;
}

export async function resumeSlurmEval(dir: string): Promise<ResumeResult> {
  const status = await slurmStatus(dir);
  const { run } = status;
  if (status.jobSource === null) {
    // Without the queue we cannot tell a running shard from a dead one; submitting twice would race on a store.
    throw new StateError(`cannot resume without Slurm's queue: ${status.notes.join('; ')}`);
  }
  const complete = status.shards.filter((s) => s.complete).map((s) => s.shard);
  const live = status.shards.filter((s) => !s.complete && s.job?.live === true);
  const dead = status.shards.filter((s) => !s.complete && s.job?.live !== true);
  const result: ResumeResult = { status, resubmitted: [], queued: live.map((s) => s.shard), complete, submission: null, cancelledMerge: null };
  if (status.merged.exists && dead.length === 0) return result;

  const layout = runLayout(run.dir, run.shards);
  const submission: Submission = { at: new Date().toISOString(), shards: dead.map((s) => s.shard), arrayJob: null, mergeJob: null };
  if (dead.length > 0) {
    run.submissions.push(submission);
    submission.arrayJob = await sbatch([`--array=${submission.shards.join(',')}`, layout.arrayScript]);
    result.resubmitted = submission.shards;
    await writeRun(run);
  }
  const oldMerge = status.merged.job;
  if (!status.merged.exists && (submission.arrayJob !== null || oldMerge?.live !== true)) {
    if (oldMerge?.live === true) {
      await scancel([oldMerge.id]).catch((err: unknown) => {
        // It may have just ended by itself (its dependency failed): nothing to cancel then.
        if (!(err instanceof LaborLlmError)) throw err;
      });
      result.cancelledMerge = oldMerge.id;
    }
    const waitFor = [...(submission.arrayJob !== null ? [submission.arrayJob] : []), ...live.map(taskId)];
    if (submission.arrayJob === null) run.submissions.push(submission);
    submission.mergeJob = await sbatch([...mergeDependency(waitFor), layout.mergeScript]);
    await writeRun(run);
  }
  result.submission = submission.arrayJob !== null || submission.mergeJob !== null ? submission : null;
  return result;
}

function taskId(s: ShardStatus): string {
  return s.job!.id;
}
