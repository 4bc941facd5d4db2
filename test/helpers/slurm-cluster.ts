/**
 * A real one-node Slurm cluster for the tests, from Debian's packages (slurmctld, slurmd, munge; .ci/run
 * installs them): munged, slurmctld and slurmd started as root in the foreground on the loopback
 * interface, with private ports, a private munge key and socket, and every state file in a temp folder,
 * configured from test/slurm/fixtures/slurm.conf. `stop()` cancels the jobs and stops every daemon it
 * started; a process exit without stop() kills them too.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, openSync, closeSync, readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { packageRoot } from '../../src/package.js';

const DAEMONS = ['munged', 'slurmctld', 'slurmd'] as const;
const CLIENTS = ['sbatch', 'squeue', 'scancel', 'scontrol', 'sinfo'] as const;

/** Where a program is: $PATH, then the sbin folders a non-login root shell may lack. */
function findProgram(name: string): string | null {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin', '/usr/bin', '/bin'];
  for (const d of dirs) {
    if (d && existsSync(join(d, name))) return join(d, name);
  }
  return null;
}

/** Why no cluster can start here (the test is then skipped with this message), or null. */
export function slurmUnavailable(): string | null {
  const missing = [...DAEMONS, ...CLIENTS].filter((p) => findProgram(p) === null);
  if (missing.length > 0) {
    return `Slurm is not installed (${missing.join(', ')} not found): install Debian's slurm-wlm and munge (as .ci/run does) to run this test`;
  }
  if (process.getuid?.() !== 0) return 'the test Slurm cluster runs its daemons as root; run the tests as root';
  return null;
}

export interface SlurmCluster {
  dir: string;
  /** The cluster's slurm.conf: Slurm's commands find the cluster through SLURM_CONF. */
  conf: string;
  env: NodeJS.ProcessEnv;
  /** Runs a Slurm command against this cluster; resolves to its stdout (rejects on a non-zero exit). */
  run(tool: string, args: string[]): Promise<string>;
  /** The daemons' logs, for failure messages. */
  logs(): string;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => done(port));
    });
  });
}

function exited(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((done) => {
    const timer = setTimeout(() => done(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      done(true);
    });
  });
}

async function waitUntil(what: string, ms: number, test: () => Promise<boolean> | boolean): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (await test()) return;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export async function startSlurmCluster(opts: { cpus?: number } = {}): Promise<SlurmCluster> {
  const why = slurmUnavailable();
  if (why) throw new Error(why);
  const dir = await mkdtemp(join(tmpdir(), 'labor-llm-slurm-'));
  for (const sub of ['munge', 'state', 'spool', 'logs']) await mkdir(join(dir, sub), { recursive: true });
  const conf = join(dir, 'slurm.conf');
  const env: NodeJS.ProcessEnv = { ...process.env, SLURM_CONF: conf };
  const children: ChildProcess[] = [];
  const killAll = (): void => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  };
  process.once('exit', killAll);

  const logFiles = DAEMONS.map((d) => join(dir, 'logs', `${d}.out`));
  const logs = (): string =>
    [...logFiles, join(dir, 'logs', 'slurmctld.log'), join(dir, 'logs', 'slurmd.log')]
      .filter((f) => existsSync(f))
      .map((f) => `--- ${f}\n${readFileSync(f, 'utf8').split('\n').slice(-30).join('\n')}`)
      .join('\n');
  const start = (daemon: (typeof DAEMONS)[number], args: string[]): void => {
    const fd = openSync(logFiles[DAEMONS.indexOf(daemon)]!, 'a');
    const child = spawn(findProgram(daemon)!, args, { env, stdio: ['ignore', fd, fd] });
    closeSync(fd);
    children.push(child);
  };
  const run = (tool: string, args: string[]): Promise<string> =>
    new Promise((done, fail) => {
      execFile(tool, args, { env, timeout: 30_000 }, (err, stdout, stderr) => {
        if (err) fail(new Error(`${tool} ${args.join(' ')}: ${String(stderr).trim() || err.message}`));
        else done(String(stdout));
      });
    });

  const stop = async (): Promise<void> => {
    try {
      // Jobs first, so that no slurmstepd outlives its slurmd.
      await run('scancel', ['--user=root']).catch(() => undefined);
      await waitUntil('the jobs to end', 15_000, async () => (await run('squeue', ['-h']).catch(() => '')).trim() === '').catch(() => undefined);
    } finally {
      for (const c of [...children].reverse()) {
        c.kill('SIGTERM');
        if (!(await exited(c, 5000))) {
          c.kill('SIGKILL');
          await exited(c, 2000);
        }
      }
      process.removeListener('exit', killAll);
      await rm(dir, { recursive: true, force: true });
    }
  };

  try {
    const munge = join(dir, 'munge');
    await writeFile(join(munge, 'munge.key'), randomBytes(1024), { mode: 0o600 });
    await chmod(munge, 0o755);
    start('munged', [
      '--foreground',
      '--force',
      `--socket=${join(munge, 'munge.socket')}`,
      `--key-file=${join(munge, 'munge.key')}`,
      `--log-file=${join(dir, 'logs', 'munged.log')}`,
      `--pid-file=${join(munge, 'munged.pid')}`,
      `--seed-file=${join(munge, 'munged.seed')}`,
    ]);
    await waitUntil('the munge socket', 10_000, () => existsSync(join(munge, 'munge.socket')));

    const template = await readFile(join(packageRoot(), 'test', 'slurm', 'fixtures', 'slurm.conf'), 'utf8');
    const values: Record<string, string> = {
      DIR: dir,
      HOSTNAME: hostname(),
      CTLD_PORT: String(await freePort()),
      SLURMD_PORT: String(await freePort()),
      CPUS: String(opts.cpus ?? 4),
    };
    await writeFile(conf, template.replace(/@([A-Z_]+)@/g, (m, k: string) => values[k] ?? m));
    start('slurmctld', ['-D', '-i']);
    start('slurmd', ['-D', '-N', 'localhost']);
    await waitUntil('the node to be idle', 30_000, async () => {
      const state = await run('sinfo', ['-h', '-n', 'localhost', '-o', '%T']).catch(() => '');
      return state.trim() === 'idle';
    });
  } catch (err) {
    const detail = logs();
    await stop();
    throw new Error(`the test Slurm cluster did not start: ${(err as Error).message}\n${detail}`);
  }
  return { dir, conf, env, run, logs, stop };
}
