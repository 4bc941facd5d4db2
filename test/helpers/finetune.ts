/** Shared fixtures of the fine-tuning tests: temp dirs, JSONL files, a clock that records instead of sleeping. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Clock } from '../../src/models/finetune/hosted/index.js';

export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'labor-llm-ft-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A LABOR-LLM-style training file: one {"text": resume} per line. */
export function writeTextJsonl(path: string, n: number): string {
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    lines.push(JSON.stringify({ text: `<worker ${i}>\n1990 to 1991 (graduate degree): Elementary and middle school teachers\n1991 to 1992: Lawyers\n` }));
  }
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

export function writeChatJsonl(path: string, n: number): string {
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    lines.push(JSON.stringify({ messages: [{ role: 'user', content: `career ${i}` }, { role: 'assistant', content: 'Lawyers' }] }));
  }
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

/** A clock whose sleeps return at once (advancing its time) and are recorded for assertions. */
export function recordingClock(): Clock & { sleeps: number[] } {
  let t = 1_000_000;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => t,
    random: () => 0.5,
    sleep: async (ms) => {
      sleeps.push(ms);
      t += ms;
    },
  };
}

/** Retry policy for tests: real bounds, no real waiting (used with recordingClock). */
export const FAST_RETRY = { maxRetries: 3, baseDelayMs: 100, maxDelayMs: 1_000, maxElapsedMs: 60_000, maxRetryAfterMs: 10_000 };
