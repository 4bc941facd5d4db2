/**
 * `labor-llm slurm eval|status|resume`: an evaluation split into shards over a Slurm job array, merged
 * by a job that waits for the array; watched and resumed from its run folder.
 */
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { sep } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { NotFoundError } from '../../errors.js';
import { resumeSlurmEval } from '../../slurm/resume.js';
import type { SlurmResources } from '../../slurm/script.js';
import { type ShardStatus, slurmStatus, type SlurmStatus } from '../../slurm/status.js';
import { planSlurmEval, submitSlurmEval } from '../../slurm/submit.js';
import { log, printJson, type GlobalOptions } from '../output.js';
import { formatDuration } from '../progress.js';
import { EVAL_OPTIONS, evalArgv, type EvalOptionName, withEvalOptions } from './eval.js';

/** Set per shard by slurm eval itself. */
const PER_SHARD: readonly EvalOptionName[] = ['shard', 'out'];

interface SlurmEvalArgs extends GlobalOptions {
  [key: string]: unknown;
  shards: number;
  dir: string;
  partition: string | undefined;
  time: string | undefined;
  gpus: string | undefined;
  cpusPerTask: number | undefined;
  mem: string | undefined;
  account: string | undefined;
  sbatch: string[] | undefined;
  laborLlm: string | undefined;
  dryRun: boolean;
}

const CLUSTER_GROUP = 'Cluster:';
const EVAL_GROUP = 'Evaluation (the options of labor-llm eval, for every shard):';

/** Folders that are usually private to each node. */
function looksNodeLocal(path: string): boolean {
  return ['/tmp', '/dev/shm', '/var/tmp', tmpdir()].some((d) => path === d || path.startsWith(d + sep));
}

const evalSubcommand: CommandModule<GlobalOptions, SlurmEvalArgs> = {
  command: 'eval',
  describe: 'submit an evaluation as a job array of shards (eval --shard i/N) and a merge job that waits for it',
  builder: (y: Argv<GlobalOptions>) =>
    withEvalOptions(y, { omit: PER_SHARD, withoutDefaults: true })
      .group(
        Object.keys(EVAL_OPTIONS).filter((k) => !PER_SHARD.includes(k as EvalOptionName)),
        EVAL_GROUP,
      )
      .option('shards', { type: 'number', demandOption: true, describe: 'number of shards: one array task each' })
      .option('dir', { type: 'string', demandOption: true, describe: 'run folder on a file system every node shares: scripts, shard stores, logs, merged store' })
      .option('partition', { type: 'string', describe: 'Slurm partition (all jobs)' })
      .option('account', { type: 'string', describe: 'Slurm account (all jobs)' })
      .option('time', { type: 'string', describe: 'wall-clock limit per job, e.g. 12:00:00 (all jobs)' })
      .option('gpus', { type: 'string', describe: 'GPUs per shard job, e.g. 1 (needs the CUDA build; add --gpu-layers -1)' })
      .option('cpus-per-task', { type: 'number', describe: 'CPU cores per shard job (also its --threads unless given)' })
      .option('mem', { type: 'string', describe: 'memory per shard job, e.g. 32G' })
      .option('sbatch', { type: 'string', array: true, describe: 'another sbatch option for every job, e.g. --sbatch=--qos=high (repeatable)' })
      .option('labor-llm', { type: 'string', describe: 'shell command that runs labor-llm on a node (default: this node binary and installation)' })
      .option('dry-run', { type: 'boolean', default: false, describe: 'print the scripts and the sbatch commands; write and submit nothing' })
      .group(['shards', 'dir', 'partition', 'account', 'time', 'gpus', 'cpus-per-task', 'mem', 'sbatch', 'labor-llm', 'dry-run'], CLUSTER_GROUP)
      .example('$0 slurm eval --dir /scratch/me/ft-run --shards 8 --model ft.gguf --data panel/ --cpus-per-task 8 --mem 16G --time 12:00:00', '8 CPU jobs')
      .example('$0 slurm eval --dir runs/ft --shards 4 --model ft.gguf --data panel/ --partition gpu --gpus 1 --gpu-layers -1 --cross-batch 8', 'GPU jobs')
      .example('$0 slurm eval --dir runs/ft --shards 8 --model ft.gguf --data panel/ --dry-run', 'show the scripts only') as unknown as Argv<SlurmEvalArgs>,
  handler: async (args) => {
    // Caught here rather than in N jobs: the paths the shards will open (relative ones from this folder).
    for (const flag of ['data', 'model'] as const) {
      const path = args[flag];
      if (typeof path === 'string' && !existsSync(path)) throw new NotFoundError(`--${flag} ${path}: no such file or folder`);
    }
    const resources: SlurmResources = {};
    if (args.partition !== undefined) resources.partition = args.partition;
    if (args.account !== undefined) resources.account = args.account;
    if (args.time !== undefined) resources.time = args.time;
    if (args.gpus !== undefined) resources.gpus = args.gpus;
    if (args.cpusPerTask !== undefined) resources.cpusPerTask = args.cpusPerTask;
    if (args.mem !== undefined) resources.mem = args.mem;
    if (args.sbatch !== undefined) resources.extra = args.sbatch;
    const plan = planSlurmEval({
      dir: args.dir,
      shards: args.shards,
      evalArgs: evalArgv(args, PER_SHARD),
      resources,
      ...(args.laborLlm !== undefined ? { launcher: args.laborLlm } : {}),
    });
    const { layout } = plan;
    for (const path of [layout.dir, plan.run.workDir]) {
      if (looksNodeLocal(path)) log(args, `note: ${path} is usually private to each node; on a cluster use a folder every node mounts`);
    }
    if (args.dryRun) {
      if (args.json) {
        printJson({ command: 'slurm eval', dryRun: true, scripts: { [layout.arrayScript]: plan.scripts.array, [layout.mergeScript]: plan.scripts.merge }, commands: plan.commands, run: plan.run });
        return;
      }
      const out = [
        `# ${layout.arrayScript}`,
        plan.scripts.array,
        `# ${layout.mergeScript}`,
        plan.scripts.merge,
        '# dry run: nothing written or submitted; without --dry-run these run:',
        ...plan.commands.map((c) => c.join(' ')),
        '',
      ];
      process.stdout.write(out.join('\n'));
      return;
    }
    const { run, submission } = await submitSlurmEval(plan);
    if (args.json) {
      printJson({ command: 'slurm eval', dryRun: false, run, submission });
      return;
    }
    process.stdout.write(
      [
        `submitted array job ${submission.arrayJob} (${run.shards} shard${run.shards === 1 ? '' : 's'}: labor-llm eval --shard i/${run.shards}) ` +
          `and merge job ${submission.mergeJob} (runs once every shard has succeeded)`,
        `  shard stores  ${layout.dir}/shards/`,
        `  merged store  ${layout.merged}`,
        `  logs          ${layout.logs}/`,
        `watch with: labor-llm slurm status ${layout.dir}; after a failure or cancellation: labor-llm slurm resume ${layout.dir}`,
        '',
      ].join('\n'),
    );
  },
};

interface DirArgs extends GlobalOptions {
  dir: string;
}

function dirBuilder(y: Argv<GlobalOptions>): Argv<DirArgs> {
  return y.positional('dir', { type: 'string', demandOption: true, describe: 'run folder (slurm eval --dir)' }) as Argv<DirArgs>;
}

function shardCells(s: ShardStatus): string[] {
  const state = s.job ? `${s.job.state}${s.job.reason ? ` (${s.job.reason})` : ''}` : '-';
  const workers = s.workersDone === null ? 'no store yet' : `${s.workersDone}/${s.workersTotal}${s.complete ? ' complete' : ''}`;
  // An ETA only while a job is writing: an open session of a dead job has no future.
  const writing = s.job ? s.job.state === 'RUNNING' : s.sessionOpen;
  const eta = s.complete ? '-' : writing && s.etaSeconds !== null ? formatDuration(s.etaSeconds) : '-';
  return [String(s.shard), s.job?.id ?? '-', state, workers, eta];
}

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd());
}

function describeStatus(st: SlurmStatus): string[] {
  const done = st.shards.filter((s) => s.complete).length;
  const m = st.merged;
  const merge = m.exists
    ? `merged store ${m.path}`
    : `not merged yet${m.job ? ` (merge job ${m.job.id}: ${m.job.state}${m.job.reason ? `, ${m.job.reason}` : ''})` : ''}`;
  return [
    `${st.run.dir}: ${done} of ${st.run.shards} shards complete; ${merge}`,
    ...table([['shard', 'job', 'state', 'workers', 'ETA'], ...st.shards.map(shardCells)]),
    ...st.notes.map((n) => `note: ${n}`),
  ];
}

const statusSubcommand: CommandModule<GlobalOptions, DirArgs> = {
  command: 'status <dir>',
  describe: "each shard's progress from its store (workers done, ETA) beside Slurm's job state",
  builder: (y: Argv<GlobalOptions>) => dirBuilder(y).example('$0 slurm status runs/ft', 'where an array stands'),
  handler: async (args) => {
    const st = await slurmStatus(args.dir);
    if (args.json) {
      printJson({ command: 'slurm status', ...st });
      return;
    }
    process.stdout.write(`${describeStatus(st).join('\n')}\n`);
  },
};

const resumeSubcommand: CommandModule<GlobalOptions, DirArgs> = {
  command: 'resume <dir>',
  describe: 'resubmit the shards that are neither complete nor queued (each resumes from its store), and a merge job',
  builder: (y: Argv<GlobalOptions>) => dirBuilder(y).example('$0 slurm resume runs/ft', 'after a cancelled, failed or timed-out shard'),
  handler: async (args) => {
    const r = await resumeSlurmEval(args.dir);
    if (args.json) {
      printJson({ command: 'slurm resume', resubmitted: r.resubmitted, queued: r.queued, complete: r.complete, submission: r.submission, cancelledMerge: r.cancelledMerge });
      return;
    }
    const list = (xs: number[]): string => (xs.length === 0 ? 'none' : xs.join(','));
    const lines = [
      r.resubmitted.length > 0
        ? `resubmitted shards ${list(r.resubmitted)} as array job ${r.submission!.arrayJob}`
        : 'no shard to resubmit',
      `  still queued: ${list(r.queued)}; complete: ${list(r.complete)}`,
    ];
    if (r.submission?.mergeJob) {
      lines.push(`merge job ${r.submission.mergeJob} runs once they succeed${r.cancelledMerge ? ` (replaces ${r.cancelledMerge})` : ''}`);
    } else if (r.status.merged.exists) {
      lines.push(`merged store: ${r.status.merged.path}`);
    }
    process.stdout.write(`${lines.join('\n')}\n`);
  },
};

export const slurmCommand: CommandModule<GlobalOptions, GlobalOptions> = {
  command: 'slurm <command>',
  describe: 'evaluate on a Slurm cluster: eval (submit a shard array and its merge), status, resume',
  builder: (y: Argv<GlobalOptions>) =>
    y
      .command(evalSubcommand)
      .command(statusSubcommand)
      .command(resumeSubcommand)
      .demandCommand(1, 'name a slurm subcommand: eval, status, resume')
      .example('$0 slurm eval --dir runs/ft --shards 8 --model ft.gguf --data panel/ --time 4:00:00', 'submit')
      .example('$0 slurm status runs/ft', 'watch')
      .epilog('See docs/evaluation.md, "Evaluating on a Slurm cluster".'),
  handler: () => undefined,
};
