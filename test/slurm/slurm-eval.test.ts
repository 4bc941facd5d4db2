/**
 * `labor-llm slurm eval` without a cluster: `--dry-run` prints the two scripts for exactly the options
 * given and submits nothing; the array script, run by bash as Slurm would for one task, hands eval
 * exactly the user's flags plus its shard; every eval flag reaches it; a submission (through a stand-in
 * sbatch on PATH that records its calls) submits the array, then the merge with the array's id as
 * its dependency.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVAL_OPTIONS } from '../../src/cli/commands/eval.js';
import { removeTempDirs, tempDir } from '../helpers/eval-fixtures.js';
import { runCli as cli } from '../helpers/run-cli.js';

afterAll(removeTempDirs);

let root: string;
let model: string;
let data: string;
/** A stand-in sbatch: appends its arguments to calls.txt and prints the next job id. */
let fakeBin: string;
let savedPath: string | undefined;

beforeAll(async () => {
  root = await tempDir('labor-llm-slurm-eval-');
  model = join(root, 'ft model.gguf');
  writeFileSync(model, 'not read by a dry run');
  data = join(root, 'panel');
  mkdirSync(data);
  fakeBin = join(root, 'bin');
  mkdirSync(fakeBin);
  const sbatch = join(fakeBin, 'sbatch');
  writeFileSync(
    sbatch,
    `#!/bin/bash\nprintf '%s\\n' "$*" >> ${JSON.stringify(join(root, 'calls.txt'))}\necho $(( 100 + $(wc -l < ${JSON.stringify(join(root, 'calls.txt'))}) ))\n`,
    { mode: 0o755 },
  );
  savedPath = process.env.PATH;
  process.env.PATH = `${fakeBin}:${savedPath ?? ''}`;
});

afterAll(() => {
  process.env.PATH = savedPath;
});

function sbatchCalls(): string[] {
  const f = join(root, 'calls.txt');
  return existsSync(f) ? readFileSync(f, 'utf8').trim().split('\n') : [];
}

/** The `#SBATCH` lines of a script, without the prefix. */
function directives(script: string): string[] {
  return script.split('\n').filter((l) => l.startsWith('#SBATCH ')).map((l) => l.slice('#SBATCH '.length));
}

/** Splits the dry run's output into its two scripts. */
function scriptsOf(stdout: string, dir: string): { array: string; merge: string } {
  const a = stdout.indexOf(`# ${join(dir, 'eval.sbatch')}\n`);
  const m = stdout.indexOf(`# ${join(dir, 'merge.sbatch')}\n`);
  const end = stdout.indexOf('# dry run:');
  expect(a).toBeGreaterThanOrEqual(0);
  expect(m).toBeGreaterThan(a);
  return {
    array: stdout.slice(stdout.indexOf('\n', a) + 1, m),
    merge: stdout.slice(stdout.indexOf('\n', m) + 1, end),
  };
}

/** Runs the array script for one task as Slurm would, with a launcher that prints the arguments it gets. */
function taskArgv(script: string, task: number, env: Record<string, string> = {}): string[] {
  const out = execFileSync('bash', ['-c', script], {
    env: { PATH: process.env.PATH, SLURM_ARRAY_TASK_ID: String(task), ...env },
    encoding: 'utf8',
  });
  return out.trimEnd().split('\n');
}

describe('slurm eval --dry-run', () => {
  it('prints the scripts for exactly the options given, and writes and submits nothing', async () => {
    const dir = join(root, 'run-a');
    const r = await cli([
      'slurm', 'eval', '--dry-run', '--dir', dir, '--shards', '4',
      '--model', model, '--data', data, '--mode', 'perplexity', '--top-k', '5', '--name', "it's mine",
      '--partition', 'gpu', '--account', 'econ', '--time', '2:00:00', '--gpus', '1', '--cpus-per-task', '8', '--mem', '32G',
      '--sbatch=--qos=high', '--sbatch', 'constraint=a100', '--labor-llm', "printf '%s\\n'",
    ]);
    expect(r.code, r.stderr).toBe(0);
    const { array, merge } = scriptsOf(r.stdout, dir);
    expect(directives(array)).toEqual([
      '--job-name=labor-llm-eval',
      `--output=${dir}/logs/eval-%A_%a.log`,
      `--chdir=${process.cwd()}`,
      '--partition=gpu',
      '--account=econ',
      '--time=2:00:00',
      '--array=0-3',
      '--gpus=1',
      '--cpus-per-task=8',
      '--mem=32G',
      '--qos=high',
      '--constraint=a100',
      '--requeue',
    ]);
    // The merge job needs no GPU, cores or memory of the shards'.
    expect(directives(merge)).toEqual([
      '--job-name=labor-llm-merge',
      `--output=${dir}/logs/merge-%j.log`,
      `--chdir=${process.cwd()}`,
      '--partition=gpu',
      '--account=econ',
      '--time=2:00:00',
      '--qos=high',
      '--constraint=a100',
    ]);
    const stores = [0, 1, 2, 3].map((i) => join(dir, 'shards', `results.shard-${i}-of-4.duckdb`));
    // Only the flags given, quoted so that the shell gives them back unchanged; --threads follows the cores.
    expect(taskArgv(array, 2, { SLURM_CPUS_PER_TASK: '8' })).toEqual([
      'eval', '--shard', '2/4', '--out', stores[2], '--threads', '8',
      '--model', model, '--data', data, '--mode', 'perplexity', '--top-k', '5', '--name', "it's mine",
    ]);
    expect(taskArgv(merge, 0)).toEqual(['merge', join(dir, 'results.duckdb'), ...stores]);
    expect(r.stdout).toContain(`sbatch ${join(dir, 'eval.sbatch')}\n`);
    expect(r.stdout).toContain(`sbatch --dependency=afterok:<array job id> --kill-on-invalid-dep=yes ${join(dir, 'merge.sbatch')}\n`);
    expect(existsSync(dir)).toBe(false);
    expect(sbatchCalls()).toEqual([]);
  });

  it('forwards every eval option but --shard and --out, and only when given', async () => {
    // --baseline and --import-scores exclude --model (checked with --baseline below).
    const forwarded = Object.keys(EVAL_OPTIONS).filter((k) => !['shard', 'out', 'baseline', 'import-scores'].includes(k));
    const given: string[] = [];
    const expected: string[] = [];
    for (const name of forwarded) {
      const spec = EVAL_OPTIONS[name as keyof typeof EVAL_OPTIONS] as { type?: string; choices?: readonly string[] };
      if (name === 'model' || name === 'data') continue;
      const value = spec.choices ? spec.choices[spec.choices.length - 1]! : spec.type === 'number' ? '3' : spec.type === 'boolean' ? null : `v-${name}`;
      given.push(`--${name}`, ...(value === null ? [] : [value]));
      expected.push(`--${name}`, ...(value === null ? [] : [value]));
    }
    const dir = join(root, 'run-b');
    const r = await cli(['slurm', 'eval', '--dry-run', '--dir', dir, '--shards', '2', '--model', model, '--data', data, ...given, '--labor-llm', "printf '%s\\n'"]);
    expect(r.code, r.stderr).toBe(0);
    const argv = taskArgv(scriptsOf(r.stdout, dir).array, 0);
    // --threads was given, so the script does not add its own.
    expect(argv.slice(0, 5)).toEqual(['eval', '--shard', '0/2', '--out', join(dir, 'shards', 'results.shard-0-of-2.duckdb')]);
    expect(argv.slice(5)).toEqual(['--model', model, '--data', data, ...expected]);

    const bare = await cli(['slurm', 'eval', '--dry-run', '--dir', dir, '--shards', '2', '--baseline', 'empirical', '--data', data, '--labor-llm', "printf '%s\\n'"]);
    expect(taskArgv(scriptsOf(bare.stdout, dir).array, 1)).toEqual([
      'eval', '--shard', '1/2', '--out', join(dir, 'shards', 'results.shard-1-of-2.duckdb'), '--threads', execFileSync('nproc', { encoding: 'utf8' }).trim(),
      '--baseline', 'empirical', '--data', data,
    ]);
    const help = await cli(['slurm', 'eval', '--help']);
    for (const name of forwarded) expect(help.stdout).toMatch(new RegExp(`(--|-)${name}\\b`));
  });

  it('refuses what it cannot submit, with the flag named', async () => {
    const dir = join(root, 'run-c');
    const base = ['slurm', 'eval', '--dry-run', '--dir', dir, '--model', model, '--data', data];
    const cases: [string[], number, RegExp][] = [
      [[...base, '--shards', '0'], 2, /--shards must be a positive integer/],
      [[...base, '--shards', '2', '--shard', '0/2'], 2, /Unknown argument: shard/],
      [[...base, '--shards', '2', '--sbatch=--qos high'], 2, /--sbatch takes one sbatch option without spaces/],
      [[...base, '--shards', '2', '--partition', 'a b'], 2, /--partition must be one word/],
      [['slurm', 'eval', '--dry-run', '--dir', dir, '--shards', '2', '--model', model, '--data', join(root, 'nowhere')], 3, /--data .*nowhere: no such file/],
      [['slurm', 'eval', '--dry-run', '--dir', dir, '--shards', '2', '--data', data], 2, /give --model FILE, --baseline NAME or --import-scores FILE/],
    ];
    for (const [argv, code, message] of cases) {
      const r = await cli(argv);
      expect(r.code, argv.join(' ')).toBe(code);
      expect(r.stderr).toMatch(message);
    }
    expect(sbatchCalls()).toEqual([]);
  });
});

describe('slurm eval submission', () => {
  it('writes the run folder, submits the array, then the merge after it; a second submission is refused', async () => {
    const dir = join(root, 'run-d');
    const r = await cli(['slurm', 'eval', '--dir', dir, '--shards', '3', '--model', model, '--data', data, '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    expect(sbatchCalls()).toEqual([
      '--parsable ' + join(dir, 'eval.sbatch'),
      `--parsable --dependency=afterok:101 --kill-on-invalid-dep=yes ${join(dir, 'merge.sbatch')}`,
    ]);
    expect(r.stdout).toMatch(/submitted array job 101 \(3 shards: labor-llm eval --shard i\/3\) and merge job 102/);
    expect(r.stdout).toContain(`merged store  ${join(dir, 'results.duckdb')}`);
    for (const f of ['eval.sbatch', 'merge.sbatch', 'logs', 'shards']) expect(existsSync(join(dir, f)), f).toBe(true);
    const manifest = JSON.parse(readFileSync(join(dir, 'slurm-run.json'), 'utf8')) as { submissions: unknown[]; evalArgs: string[] };
    expect(manifest.submissions).toEqual([{ at: expect.any(String), shards: [0, 1, 2], arrayJob: '101', mergeJob: '102' }]);
    expect(manifest.evalArgs).toEqual(['--model', model, '--data', data]);

    const again = await cli(['slurm', 'eval', '--dir', dir, '--shards', '3', '--model', model, '--data', data]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/a cluster evaluation is already here: watch it with labor-llm slurm status/);
    expect(sbatchCalls()).toHaveLength(2);
  });
});
