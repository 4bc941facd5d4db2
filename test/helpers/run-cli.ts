/**
 * Runs the CLI in-process (src/cli/main.ts) and captures what it writes: stdout (process.stdout and
 * console.log, which yargs uses for help), stderr (process.stderr and console.error), and the exit code
 * main() resolves to. The one capture of the test suite: every CLI test runs the CLI through it.
 */
import { vi } from 'vitest';
import { main } from '../../src/cli/main.js';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliRunOptions {
  /** Environment variables set for the run (undefined: unset), restored after it. */
  env?: Record<string, string | undefined>;
}

export async function runCli(argv: string[], opts: CliRunOptions = {}): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => {
    stdout += String(s);
    return true;
  });
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => {
    stderr += String(s);
    return true;
  });
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => {
    stdout += `${a.map(String).join(' ')}\n`;
  });
  const error = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => {
    stderr += `${a.map(String).join(' ')}\n`;
  });
  const before = new Map<string, string | undefined>();
  const setEnv = (k: string, v: string | undefined): void => {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  };
  for (const [k, v] of Object.entries(opts.env ?? {})) {
    before.set(k, process.env[k]);
    setEnv(k, v);
  }
  try {
    return { code: await main(argv), stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
    log.mockRestore();
    error.mockRestore();
    for (const [k, v] of before) setEnv(k, v);
  }
}

/**
 * runCli with the output of the latest run kept in `out`: `const { out, run } = captureCli()`, then
 * `await run(...argv)` resolves to the exit code and `out.stdout` / `out.stderr` hold what it printed.
 */
export function captureCli(): { out: { stdout: string; stderr: string }; run: (...argv: string[]) => Promise<number> } {
  const out = { stdout: '', stderr: '' };
  const run = async (...argv: string[]): Promise<number> => {
    const r = await runCli(argv);
    out.stdout = r.stdout;
    out.stderr = r.stderr;
    return r.code;
  };
  return { out, run };
}
