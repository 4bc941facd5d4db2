/**
 * Slurm's own commands (sbatch, squeue, sacct, scontrol, scancel), run as child processes with their
 * machine-readable output forms. They read the cluster from the environment as usual (SLURM_CONF).
 */
import { execFile } from 'node:child_process';
import { userInfo } from 'node:os';
import { NotFoundError, StateError } from '../errors.js';

interface ToolResult {
  code: number;
  stdout: string;
  stderr: string;
}

const TOOL_TIMEOUT_MS = 60_000;

/** Runs a Slurm command; NotFoundError when it is not installed, never throws on a non-zero exit. */
function runTool(tool: string, args: readonly string[]): Promise<ToolResult> {
  return new Promise((done, fail) => {
    execFile(tool, args, { timeout: TOOL_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: string | number }) | null;
      if (e && e.code === 'ENOENT') {
        fail(new NotFoundError(`${tool} not found on PATH: run this on a Slurm login node (or look at the scripts with --dry-run)`));
        return;
      }
      done({ code: e ? (typeof e.code === 'number' ? e.code : 1) : 0, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** Submits a batch script; returns the job id (`sbatch --parsable` prints "id" or "id;cluster"). */
export async function sbatch(args: readonly string[]): Promise<string> {
  const r = await runTool('sbatch', ['--parsable', ...args]);
  const id = r.stdout.trim().split(';')[0] ?? '';
  if (r.code !== 0 || !/^\d+$/.test(id)) {
    throw new StateError(`sbatch ${args.join(' ')} failed (exit ${r.code}): ${(r.stderr || r.stdout).trim()}`);
  }
  return id;
}

export async function scancel(jobIds: readonly string[]): Promise<void> {
  if (jobIds.length === 0) return;
  const r = await runTool('scancel', jobIds);
  if (r.code !== 0) throw new StateError(`scancel ${jobIds.join(' ')} failed (exit ${r.code}): ${r.stderr.trim()}`);
}

/** A job, or one task of an array, as Slurm reports it. */
export interface JobState {
  /** The array's job id (the job id for a plain job). */
  jobId: string;
  /** Array task id, or null for a plain job (or an array's not yet split pending record). */
  task: number | null;
  state: string;
  /** Why a pending job waits (squeue's reason), else ''. */
  reason: string;
  /** Still in the queue (pending, running, requeued...): not to be submitted again. */
  live: boolean;
}

/** States after which a job will not run again by itself. */
const FINISHED_STATES = new Set([
  'COMPLETED',
  'CANCELLED',
  'FAILED',
  'TIMEOUT',
  'NODE_FAIL',
  'PREEMPTED',
  'OUT_OF_MEMORY',
  'BOOT_FAIL',
  'DEADLINE',
  'REVOKED',
  'SPECIAL_EXIT',
]);

function isLive(state: string): boolean {
  return !FINISHED_STATES.has(state);
}

/** "12_3" -> {12, 3}; "12" -> {12, null}; "12_[1-3]" (an unsplit pending array) -> null. */
function parseJobId(text: string): { jobId: string; task: number | null } | null {
  const m = /^(\d+)(?:_(\d+))?$/.exec(text.trim());
  if (!m) return null;
  return { jobId: m[1]!, task: m[2] === undefined ? null : Number(m[2]) };
}

/** The user's queued jobs among `jobIds` (arrays expanded into tasks). */
async function queued(jobIds: ReadonlySet<string>): Promise<JobState[]> {
  const r = await runTool('squeue', ['-h', '-r', '-u', userInfo().username, '-o', '%i|%T|%r']);
  if (r.code !== 0) throw new StateError(`squeue failed (exit ${r.code}): ${r.stderr.trim()}`);
  const out: JobState[] = [];
  for (const line of r.stdout.split('\n')) {
    const [id, state, reason] = line.split('|');
    const parsed = parseJobId(id ?? '');
    if (!parsed || !jobIds.has(parsed.jobId) || !state) continue;
    out.push({ ...parsed, state, reason: reason === 'None' ? '' : (reason ?? ''), live: isLive(state) });
  }
  return out;
}

/** Ended jobs from accounting (sacct), or from the controller's memory (scontrol) where accounting is off. */
async function ended(jobIds: readonly string[]): Promise<{ jobs: JobState[]; source: 'sacct' | 'scontrol' }> {
  const acct = await runTool('sacct', ['-n', '-P', '-X', '-j', jobIds.join(','), '-o', 'JobID,State']);
  if (acct.code === 0) {
    const jobs: JobState[] = [];
    for (const line of acct.stdout.split('\n')) {
      const [id, state] = line.split('|');
      const parsed = parseJobId(id ?? '');
      // "CANCELLED by 0" -> CANCELLED
      const word = (state ?? '').split(' ')[0] ?? '';
      if (parsed && word) jobs.push({ ...parsed, state: word, reason: '', live: isLive(word) });
    }
    return { jobs, source: 'sacct' };
  }
  const jobs: JobState[] = [];
  for (const id of jobIds) {
    const r = await runTool('scontrol', ['-o', 'show', 'job', id]);
    if (r.code !== 0) continue; // forgotten by the controller (MinJobAge passed)
    for (const line of r.stdout.split('\n')) {
      const fields = new Map(line.split(' ').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
      const state = fields.get('JobState');
      const task = fields.get('ArrayTaskId');
      if (!state) continue;
      if (task !== undefined && !/^\d+$/.test(task)) continue;
      jobs.push({ jobId: fields.get('ArrayJobId') ?? id, task: task === undefined ? null : Number(task), state, reason: '', live: isLive(state) });
    }
  }
  return { jobs, source: 'scontrol' };
}

export interface JobStates {
  jobs: JobState[];
  /** Where the states of ended jobs came from. */
  source: 'squeue+sacct' | 'squeue+scontrol';
}

/**
 * The states of these jobs and their array tasks: the queue first (pending and running, arrays expanded),
 * then accounting for the ones that ended. A job the cluster has forgotten is simply absent.
 */
export async function jobStates(jobIds: readonly string[]): Promise<JobStates> {
  const ids = [...new Set(jobIds)];
  if (ids.length === 0) return { jobs: [], source: 'squeue+sacct' };
  const live = await queued(new Set(ids));
  const key = (j: JobState): string => `${j.jobId}_${j.task ?? ''}`;
  const seen = new Set(live.map(key));
  const done = await ended(ids);
  const jobs = [...live];
  for (const j of done.jobs) {
    if (seen.has(key(j))) continue;
    seen.add(key(j));
    jobs.push(j);
  }
  return { jobs, source: done.source === 'sacct' ? 'squeue+sacct' : 'squeue+scontrol' };
}
