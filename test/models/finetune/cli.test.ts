import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeServer, type FakeServer } from '../../../src/models/finetune/fake-server/index.js';
import { tempDir, writeTextJsonl } from '../../helpers/finetune.js';
import { type CliRun, runCli } from '../../helpers/run-cli.js';

const MODEL = 'meta-llama/Meta-Llama-3.1-8B-Reference';
let fake: FakeServer;
let tmp: { dir: string; cleanup: () => void };
const saved: Record<string, string | undefined> = {};

/** The CLI in-process, with `env` set for the run. */
function run(args: string[], env: Record<string, string | undefined> = {}): Promise<CliRun> {
  return runCli(args, { env });
}

beforeAll(() => {
  for (const k of ['TOGETHER_API_KEY', 'TOGETHER_BASE_URL', 'OPENAI_API_KEY', 'OPENAI_BASE_URL']) saved[k] = process.env[k];
});
afterAll(() => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});
beforeEach(async () => {
  fake = await startFakeServer({ apiKey: 'cli-secret-key-42', clock: 'manual', scenario: { advanceEveryNPolls: 1 }, weightBytes: 50_000 });
  tmp = tempDir();
  process.env.TOGETHER_API_KEY = 'cli-secret-key-42';
  process.env.TOGETHER_BASE_URL = fake.baseUrl;
});
afterEach(async () => {
  await fake.close();
  tmp.cleanup();
});

describe('labor-llm finetune', () => {
  it('submit --download runs the whole loop and writes the checkpoint byte-exact (--json)', async () => {
    const train = writeTextJsonl(join(tmp.dir, 'train.jsonl'), 12);
    const val = writeTextJsonl(join(tmp.dir, 'val.jsonl'), 3);
    const r = await run(['finetune', 'submit', train, '--validation-file', val, '-m', MODEL, '--epochs', '2', '--suffix', 'cli', '--lora-r', '4', '--download', '--dir', tmp.dir, '--poll-interval', '0.001', '--json']);
    expect(r.code).toBe(0);
    // logs go to stderr, JSON alone to stdout; no progress bars under --json, and never the key
    expect(r.stderr).toMatch(/uploaded .*train\.jsonl as file-/);
    expect(r.stderr).not.toMatch(/\[=*-*\]/);
    expect(r.stderr + r.stdout).not.toContain('cli-secret-key-42');
    const out = JSON.parse(r.stdout) as {
      job: { id: string };
      final: { state: string };
      files: { training: { lines: number }; validation: { lines: number } };
      download: { path: string; bytes: number; sha256: string };
    };
    expect(out.final.state).toBe('completed');
    expect(out.files.training.lines).toBe(12);
    expect(out.files.validation.lines).toBe(3);
    expect(readFileSync(out.download.path).equals(fake.archiveBytes(out.job.id, 'merged'))).toBe(true);
    const created = fake.requests.find((q) => q.method === 'POST' && q.path === '/v1/fine-tunes')?.json as Record<string, unknown>;
    expect(created).toMatchObject({ n_epochs: 2, suffix: 'cli', training_type: { type: 'Lora', lora_r: 4, lora_alpha: 8 } });
  });

  it('status, events, list, cancel and a resumed download, with human and JSON output', async () => {
    const train = writeTextJsonl(join(tmp.dir, 'train.jsonl'), 2);
    const sub = await run(['finetune', 'submit', train, '-m', MODEL, '--quiet']);
    expect(sub.code).toBe(0);
    const id = sub.stdout.trim();
    expect(id).toMatch(/^ft-/);

    const st = await run(['finetune', 'status', id]);
    expect(st.stdout).toMatch(/status:\s+queued \(queued\)/);
    const waited = await run(['finetune', 'status', id, '--wait', '--poll-interval', '0.001', '--json']);
    expect(JSON.parse(waited.stdout).job.state).toBe('completed');
    expect(waited.stderr).toMatch(/job_complete/);

    const ev = await run(['finetune', 'events', id]);
    expect(ev.stdout.split('\n')[0]).toMatch(/job_pending\s+Fine tune request created/);
    expect(ev.stdout).toMatch(/job_complete/);
    const evj = JSON.parse((await run(['finetune', 'events', id, '--json'])).stdout) as { events: Array<{ type: string }> };
    expect(evj.events.at(-1)?.type).toBe('job_complete');

    const list = JSON.parse((await run(['finetune', 'list', '--json'])).stdout) as { jobs: Array<{ id: string }> };
    expect(list.jobs.map((j) => j.id)).toEqual([id]);

    fake.addFault({ path: '/v1/finetune/download', cutAfterBytes: 20_000 });
    const out = join(tmp.dir, 'ckpt.tar.zst');
    const dl = await run(['finetune', 'download', id, '-o', out, '--quiet']);
    expect(dl.code).toBe(0);
    expect(dl.stdout.trim()).toBe(out);
    expect(readFileSync(out).equals(fake.archiveBytes(id, 'merged'))).toBe(true);

    const c = await run(['finetune', 'cancel', id]);
    expect(c.code).toBe(7);
    expect(c.stderr).toMatch(/400 Bad Request: Job .* cannot be cancelled/);
  });

  it('bad input: invalid JSONL names the line; a missing key and an unknown model are clear errors', async () => {
    const bad = join(tmp.dir, 'bad.jsonl');
    writeFileSync(bad, '{"text": "fine"}\n{"text": "broken"\n');
    const r1 = await run(['finetune', 'submit', bad, '-m', MODEL]);
    expect(r1.code).toBe(2);
    expect(r1.stderr).toMatch(/bad\.jsonl:2(:\d+)?: not valid JSON/);
    expect(fake.requests).toHaveLength(0);

    const train = writeTextJsonl(join(tmp.dir, 'train.jsonl'), 2);
    const r2 = await run(['finetune', 'submit', train, '-m', MODEL], { TOGETHER_API_KEY: undefined });
    expect(r2.code).toBe(8);
    expect(r2.stderr).toMatch(/TOGETHER_API_KEY is not set/);

    const r3 = await run(['finetune', 'submit', train, '-m', 'meta-llama/Llama-9-1T']);
    expect(r3.code).toBe(7);
    expect(r3.stderr).toMatch(/404 Not Found: The model "meta-llama\/Llama-9-1T" is not available for fine-tuning/);

    const r4 = await run(['finetune', 'list'], { TOGETHER_API_KEY: 'cli-wrong-key-777' });
    expect(r4.code).toBe(7);
    expect(r4.stderr).toMatch(/401 Unauthorized/);
    expect(r4.stderr).not.toContain('cli-wrong-key-777');

    const r5 = await run(['finetune', 'submit', train, '-m', MODEL, '--batch-size', 'lots']);
    expect(r5.code).toBe(2);
    // parameters the provider refuses are caught before any upload
    const before = fake.requests.length;
    const r6 = await run(['finetune', 'submit', train, '-m', MODEL, '--suffix', 'x'.repeat(41)]);
    expect(r6.code).toBe(2);
    expect(r6.stderr).toMatch(/field "suffix"/);
    const r7 = await run(['finetune', 'submit', train, '-m', MODEL, '--lr-multiplier', '2']);
    expect(r7.stderr).toMatch(/absolute learning rate/);
    expect(fake.requests.length).toBe(before);
  });

  it('a job that fails while --wait is followed exits with the service error and its message', async () => {
    fake.setScenario({ outcome: 'error', errorMessage: 'NaN loss at step 7' });
    const train = writeTextJsonl(join(tmp.dir, 'train.jsonl'), 2);
    const r = await run(['finetune', 'submit', train, '-m', MODEL, '--wait', '--poll-interval', '0.001']);
    expect(r.code).toBe(7);
    expect(r.stderr).toMatch(/ended with status "error": NaN loss at step 7/);
  });

  it('--help shows examples', async () => {
    const r = await run(['finetune', 'download', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Examples:[\s\S]*labor-llm finetune download[\s\S]*--checkpoint\s+adapter/);
  });

  it('fake-server runs as a command on loopback and stops on SIGTERM', async () => {
    const root = new URL('../../../', import.meta.url).pathname;
    const mainUrl = new URL('../../../src/cli/main.ts', import.meta.url).href;
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', `const m = await import(${JSON.stringify(mainUrl)}); process.exitCode = await m.main(['finetune', 'fake-server', '--json']);`],
      { stdio: ['ignore', 'pipe', 'pipe'], cwd: root },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const info = await new Promise<{ baseUrl: string; apiKey: string }>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no output: ${out}`)), 8000);
      child.stdout.on('data', () => {
        try {
          const v = JSON.parse(out) as { baseUrl: string; apiKey: string };
          clearTimeout(t);
          resolve(v);
        } catch {
          // not complete yet
        }
      });
    });
    expect(info.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
    const res = await fetch(`${info.baseUrl}/fine-tunes`, { headers: { authorization: `Bearer ${info.apiKey}` } });
    expect(await res.json()).toEqual({ data: [] });
    const code = await new Promise<number | null>((resolve) => {
      child.on('exit', (c) => resolve(c));
      child.kill('SIGTERM');
    });
    expect(code).toBe(0);
  }, 15_000);
});
