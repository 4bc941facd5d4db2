/**
 * Running the CLI in-process (main()) with stdout and stderr captured: call captureCli() at the top
 * of a test file; `run(...argv)` resolves to the exit code, and `out.stdout` / `out.stderr` hold what
 * that run printed.
 */
import { afterEach, beforeEach, vi } from 'vitest';
import { main } from '../../src/cli/main.js';

export function captureCli(): { out: { stdout: string; stderr: string }; run: (...argv: string[]) => Promise<number> } {
  const out = { stdout: '', stderr: '' };
  beforeEach(() => {
    out.stdout = '';
    out.stderr = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out.stdout += String(chunk);
      return true;
    });
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out.stderr += String(chunk);
      return true;
    });
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });
  const run = async (...argv: string[]): Promise<number> => {
    out.stdout = '';
    out.stderr = '';
    return main(argv);
  };
  return { out, run };
}
