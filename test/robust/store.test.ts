/** Results stores under concurrent creation and damage: no run lost, and a message that says what happened. */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError, StateError } from '../../src/errors.js';
import { ResultsStore } from '../../src/results/results-store.js';
import { testStoreMeta } from './store-meta.js';

const dir = mkdtempSync(join(tmpdir(), 'labor-llm-store-race-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const meta = testStoreMeta();

function child(id: string, n: number): Promise<{ code: number | null; out: string }> {
  return new Promise((done) => {
    const p = spawn(process.execPath, ['--import', 'tsx', 'test/robust/store-child.ts', id, dir, String(n)]);
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    p.on('close', (code) => done({ code, out }));
  });
}

describe('results store', () => {
  it('two processes creating the same 50 stores: every run reported done is in its store, the loser is refused clearly', async () => {
    const N = 50;
    const [a, b] = await Promise.all([child('a', N), child('b', N)]);
    expect([a.code, b.code], a.out + b.out).toEqual([0, 0]);
    for (let i = 0; i < N; i++) {
      let winners = 0;
      const store = await ResultsStore.open(join(dir, `s${i}.duckdb`), { readOnly: true });
      const runs = new Set((await store.runs()).map((r) => r.name));
      await store.close();
      for (const [id, r] of [['a', a], ['b', b]] as const) {
        if (new RegExp(`^ok ${i}$`, 'm').test(r.out)) {
          winners++;
          expect(runs.has(`run-${id}`), `store ${i}: run-${id} reported done`).toBe(true);
        } else {
          expect(r.out).toMatch(new RegExp(`^refused ${i} STATE .*(at the same time|open in another process)`, 'm'));
        }
      }
      // Each trial has at least one winner (both win when the second opens the store after the first made it).
      expect(winners, `store ${i}`).toBeGreaterThanOrEqual(1);
    }
  });

  it('a damaged store is reported as damaged, not as open in another process', async () => {
    const path = join(dir, 'damaged.duckdb');
    const store = await ResultsStore.create(path, meta, []);
    await store.close();
    const bytes = readFileSync(path);
    for (let i = 8192; i < bytes.length; i += 7) bytes[i] = (bytes[i]! ^ 0x5a) & 0xff;
    writeFileSync(path, bytes);
    const err = await ResultsStore.open(path).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).not.toMatch(/another process/);
    expect((err as Error).message).toMatch(/damaged|not a labor-llm results store/);
  });

  it('metadata that is not JSON is a typed error naming the store', async () => {
    const path = join(dir, 'badmeta.duckdb');
    (await ResultsStore.create(path, meta, [])).close();
    const inst = await DuckDBInstance.create(path);
    const conn = await inst.connect();
    await conn.run(`UPDATE store_meta SET value = '{not json'`);
    await conn.run(`INSERT INTO runs VALUES ('r', 'model', 'nope', '{}', 'now')`);
    conn.closeSync();
    inst.closeSync();
    const err = await ResultsStore.open(path).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toMatch(/badmeta\.duckdb.*store_meta.*not a JSON object/);
  });

  it('a store held open elsewhere is reported as a lock', async () => {
    const path = join(dir, 'held.duckdb');
    const first = await ResultsStore.create(path, meta, []);
    await first.close();
    const r = await new Promise<string>((done) => {
      const p = spawn(process.execPath, ['--import', 'tsx', '-e', `
        const { DuckDBInstance } = await import('@duckdb/node-api');
        const inst = await DuckDBInstance.create(${JSON.stringify(path)});
        process.stdout.write('held\\n');
        setTimeout(() => inst.closeSync(), 4000);`]);
      p.stdout.once('data', () => {
        ResultsStore.open(path).then(
          (s) => s.close().then(() => done('opened')),
          (e: unknown) => done(e instanceof StateError ? `state: ${(e as Error).message}` : String(e)),
        );
      });
    });
    expect(r).toMatch(/^state: .*open in another process/);
  });
});
