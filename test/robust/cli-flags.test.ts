/** Flags and prompt files that used to be misread silently: each is now a clear error or works. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/run-cli.js';
import { lowercasingModelPath } from '../helpers/eval-fixtures.js';
import { tinyModelPath } from '../helpers/models.js';

const dir = mkdtempSync(join(tmpdir(), 'labor-llm-flags-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let model: string;
const prompt = join(dir, 'prompt.txt');
beforeAll(async () => {
  model = await tinyModelPath('llama-spm');
  writeFileSync(prompt, '1990 to 1991 (college):\n');
});

describe('score and eval flags', () => {
  it('--prompt-file - reads the prompt from stdin', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'test/helpers/cli-entry.ts', 'score', '--model', model, '--prompt-file', '-', '--top', '2', '--json'], {
      input: '1990 to 1991 (college):',
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { model: string }).model).toBe(model);
  });

  it('a prompt file with invalid UTF-8 is refused, naming the place', async () => {
    const bad = join(dir, 'bad.txt');
    writeFileSync(bad, Buffer.from([0x61, 0x62, 0xff, 0x63]));
    const r = await runCli(['score', '--model', model, '--prompt-file', bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/bad\.txt:1:3.*UTF-8/);
  });

  it('score refuses a tokenizer that cannot write the titles back, as eval does (exit 4)', async () => {
    const r = await runCli(['score', '--model', await lowercasingModelPath(), '--prompt-file', prompt]);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/cannot express \d+ of \d+ titles/);
  });

  it('a missing model is exit 3 in score as in eval (the README says 3)', async () => {
    const r = await runCli(['score', '--model', join(dir, 'missing.gguf'), '--prompt-file', prompt]);
    expect(r.code).toBe(3);
  });

  it('numeric flags out of range are refused instead of meaning "all cores" or "no saving"', async () => {
    for (const [flag, value, why] of [
      ['--threads', 'abc', /--threads must be an integer in \[0, 1024\], got NaN/],
      ['--threads', '-3', /--threads must be an integer in \[0, 1024\], got -3/],
      ['--context-size', '4294967296', /--context-size must be an integer in \[64, 2147483647\], got 4294967296/],
    ] as const) {
      const r = await runCli(['score', '--model', model, '--prompt-file', prompt, flag, value]);
      expect({ flag, value, code: r.code }).toEqual({ flag, value, code: 2 });
      expect(r.stderr).toMatch(why);
    }
    const r = await runCli(['eval', '--model', model, '--data', dir, '--commit-interval', 'abc']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--commit-interval must be a number of milliseconds >= 0, got NaN/);
  });
});
