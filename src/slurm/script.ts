/**
 * The two batch scripts of a cluster evaluation, as text: a job array whose task i runs
 * `labor-llm eval --shard i/N` into its own store, and a merge job (submitted with a dependency on the
 * array) that runs `labor-llm merge`. Everything a job needs is in its script, with absolute paths to
 * the run folder, so a script can be read, resubmitted by hand (`sbatch --array=3 eval.sbatch`) or
 * kept with the results.
 */
import { ParameterError } from '../errors.js';

/** What `#SBATCH` asks for. GPU, CPU and memory requests go to the shard jobs only. */
export interface SlurmResources {
  partition?: string;
  /** Wall-clock limit per job, in any Slurm form ("12:00:00", "2-00:00:00"). */
  time?: string;
  /** GPUs per shard job ("1", "a100:1"). */
  gpus?: string;
  cpusPerTask?: number;
  /** Memory per shard job ("32G"). */
  mem?: string;
  account?: string;
  /** Further sbatch options for every job, verbatim ("--qos=high"). */
  extra?: string[];
}

export interface ArrayScriptSpec {
  /** Absolute folder of the run: logs go to its logs/. */
  dir: string;
  /** Absolute folder the jobs start in (`--chdir`): relative paths in `evalArgs` are resolved there. */
  workDir: string;
  /** Shell words that run labor-llm on a compute node. */
  launcher: string;
  /** Absolute path of each shard's store, by shard index. */
  stores: readonly string[];
  /** The eval flags of every shard (the user's, less --shard and --out). */
  evalArgs: readonly string[];
  resources: SlurmResources;
}

export interface MergeScriptSpec {
  dir: string;
  workDir: string;
  launcher: string;
  stores: readonly string[];
  /** Absolute path of the merged store. */
  merged: string;
  resources: SlurmResources;
}

export const ARRAY_JOB_NAME = 'labor-llm-eval';
export const MERGE_JOB_NAME = 'labor-llm-merge';

/** A word for bash: as is when it has no special characters, else single-quoted. */
export function shellQuote(word: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/** A directive value must be one word (sbatch splits directives on white space). */
function directiveValue(directive: string, value: string | number): string {
  const text = String(value);
  if (text === '' || /\s/.test(text)) {
    // The directives are sbatch's kebab-case names of the resources (cpus-per-task: `cpusPerTask`).
    const parameter = directive.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    throw new ParameterError(parameter, `\`${parameter}\` must be one word without spaces, got ${JSON.stringify(text)}`);
  }
  return text;
}

/** A pass-through sbatch option: "--qos=high", or "qos=high" (the dashes added). */
export function normalizeExtraOption(option: string): string {
  const text = option.trim();
  // sbatch splits a directive line on white space: one option, one word.
  if (text === '' || /\s/.test(text)) {
    throw new ParameterError('resources.extra', `\`resources.extra\` takes one sbatch option without spaces, such as "--qos=high", got ${JSON.stringify(option)}`);
  }
  return text.startsWith('-') ? text : `--${text}`;
}

/**
 * The `#SBATCH` lines of a job: its name, log and start folder, the requests every job shares
 * (partition, account, time), the job's `own` ones, then the pass-through options.
 */
function directives(
  job: { name: string; output: string; workDir: string; resources: SlurmResources },
  own: [string, string | number | undefined][] = [],
): string[] {
  const r = job.resources;
  const pairs: [string, string | number | undefined][] = [
    ['job-name', job.name],
    ['output', job.output],
    ['chdir', job.workDir],
    ['partition', r.partition],
    ['account', r.account],
    ['time', r.time],
    ...own,
  ];
  const lines: string[] = [];
  for (const [directive, value] of pairs) {
    if (value !== undefined) lines.push(`#SBATCH --${directive}=${directiveValue(directive, value)}`);
  }
  for (const e of r.extra ?? []) lines.push(`#SBATCH ${normalizeExtraOption(e)}`);
  return lines;
}

function logPath(dir: string, pattern: string): string {
  return `${dir}/logs/${pattern}`;
}

/** The job array: task i evaluates shard i of N. */
export function arrayScript(spec: ArrayScriptSpec): string {
  const n = spec.stores.length;
  const r = spec.resources;
  const threadsGiven = spec.evalArgs.includes('--threads');
  const command = [
    spec.launcher,
    'eval',
    `--shard "\${shard}/${n}"`,
    '--out "${stores[$shard]}"',
    // Without --threads, eval would use every core of the node, not the task's share.
    ...(threadsGiven ? [] : ['--threads "${SLURM_CPUS_PER_TASK:-$(nproc)}"']),
    ...spec.evalArgs.map(shellQuote),
  ].join(' ');
  return [
    '#!/bin/bash',
    `# labor-llm slurm eval: task i of this array evaluates shard i of ${n} into its own results store.`,
    '# A task run again resumes its store; `labor-llm slurm resume` resubmits the unfinished ones.',
    ...directives({ name: ARRAY_JOB_NAME, output: logPath(spec.dir, 'eval-%A_%a.log'), workDir: spec.workDir, resources: r }, [
      ['array', `0-${n - 1}`],
      ['gpus', r.gpus],
      ['cpus-per-task', r.cpusPerTask],
      ['mem', r.mem],
    ]),
    // A preempted task goes back to the queue and resumes from its store.
    '#SBATCH --requeue',
    '',
    'set -euo pipefail',
    'stores=(',
    ...spec.stores.map((s) => `  ${shellQuote(s)}`),
    ')',
    'shard="${SLURM_ARRAY_TASK_ID:?submit this script with sbatch (it is a job array)}"',
    `exec ${command}`,
    '',
  ].join('\n');
}

/** The merge job: one store from every shard's (merge refuses unfinished shards). */
export function mergeScript(spec: MergeScriptSpec): string {
  return [
    '#!/bin/bash',
    `# labor-llm slurm eval: merges the ${spec.stores.length} shard stores once the array has succeeded.`,
    // No GPU, cores or memory of the shards': merging is reading and writing stores.
    ...directives({ name: MERGE_JOB_NAME, output: logPath(spec.dir, 'merge-%j.log'), workDir: spec.workDir, resources: spec.resources }),
    '',
    'set -euo pipefail',
    `exec ${spec.launcher} merge ${[spec.merged, ...spec.stores].map(shellQuote).join(' ')}`,
    '',
  ].join('\n');
}
