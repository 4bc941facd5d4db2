import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeServer, tarArchive, zstdStoredFrame, type FakeServer } from '../../../src/models/finetune/fake-server/index.js';
import { tempDir } from '../../helpers/finetune.js';

let fake: FakeServer;
const auth = (): Record<string, string> => ({ authorization: `Bearer ${fake.apiKey}` });

beforeEach(async () => {
  fake = await startFakeServer({ clock: 'manual', scenario: { advanceEveryNPolls: 1 }, weightBytes: 4096 });
});
afterEach(async () => {
  await fake.close();
});

async function api(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
  const init: RequestInit = { method, headers: { ...auth(), ...headers } };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    (init.headers as Record<string, string>)['content-type'] ??= 'application/json';
  }
  return fetch(`${fake.url}${path}`, { ...init, redirect: 'manual' });
}

/** Upload through flow A by hand and make a completed job. */
async function completedJob(): Promise<string> {
  const slot = await api('POST', '/v1/files', 'purpose=fine-tune&file_name=t.jsonl&file_type=jsonl', { 'content-type': 'application/x-www-form-urlencoded' });
  expect(slot.status).toBe(302);
  const id = slot.headers.get('x-together-file-id') as string;
  expect((await fetch(slot.headers.get('location') as string, { method: 'PUT', body: '{"text": "a"}\n' })).status).toBe(200);
  expect(((await (await api('POST', `/v1/files/${id}/preprocess`)).json()) as { Processed: boolean }).Processed).toBe(true);
  const job = (await (await api('POST', '/v1/fine-tunes', { model: 'meta-llama/Llama-2-7b-hf', training_file: id })).json()) as { id: string };
  for (let i = 0; i < 6; i++) await api('GET', `/v1/fine-tunes/${job.id}`);
  expect(fake.jobStatus(job.id)).toBe('completed');
  return job.id;
}

describe('fake fine-tuning server', () => {
  it('listens on loopback only', () => {
    expect(fake.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(fake.baseUrl).toBe(`${fake.url}/v1`);
  });

  it('requires the key on API routes, not on the presigned upload; a signature is usable once', async () => {
    expect((await fetch(`${fake.baseUrl}/fine-tunes`)).status).toBe(401);
    const slot = await api('POST', '/v1/files', 'purpose=fine-tune&file_name=t.jsonl', { 'content-type': 'application/x-www-form-urlencoded' });
    const loc = slot.headers.get('location') as string;
    expect(loc.startsWith(`${fake.url}/__fake/upload/`)).toBe(true);
    expect((await fetch(loc, { method: 'PUT', body: 'x' })).status).toBe(200);
    expect((await fetch(loc, { method: 'PUT', body: 'y' })).status).toBe(403);
    expect((await fetch(loc.replace(/sig=\w+/, 'sig=forged'), { method: 'PUT', body: 'y' })).status).toBe(403);
    expect((await api('GET', '/v1/nope')).status).toBe(404);
  });

  it('accepts the one-shot multipart upload (flow B) and reports invalid data in the file object', async () => {
    const form = new FormData();
    form.set('purpose', 'fine-tune');
    form.set('file_name', 'bad.jsonl');
    form.set('file', new Blob(['{"text": "a"}\n{"text": "b", "x": 1}\n']), 'bad.jsonl');
    const res = await fetch(`${fake.baseUrl}/files/upload`, { method: 'POST', body: form, headers: auth() });
    const f = (await res.json()) as Record<string, unknown>;
    expect(f).toMatchObject({ filename: 'bad.jsonl', processing_status: 'INVALID_FORMAT', Processed: false });
    expect((f.validation_report as { error: string }).error).toBe('Line 2: unexpected column "x"');
    const create = await api('POST', '/v1/fine-tunes', { model: 'meta-llama/Llama-2-7b-hf', training_file: f.id });
    expect(create.status).toBe(400);
  });

  it('serves byte ranges: 206 with Content-Range, suffix ranges, 416 past the end, If-Range', async () => {
    const id = await completedJob();
    const whole = fake.archiveBytes(id, 'merged');
    const url = `/v1/finetune/download?ft_id=${id}&checkpoint=merged`;
    const full = await api('GET', url);
    expect(full.status).toBe(200);
    expect(full.headers.get('content-length')).toBe(String(whole.length));
    expect(Buffer.from(await full.arrayBuffer()).equals(whole)).toBe(true);
    const etag = full.headers.get('etag') as string;

    const part = await api('GET', url, undefined, { range: 'bytes=0-1' });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 0-1/${whole.length}`);
    expect(Buffer.from(await part.arrayBuffer()).equals(whole.subarray(0, 2))).toBe(true);
    const tail = await api('GET', url, undefined, { range: 'bytes=-10' });
    expect(Buffer.from(await tail.arrayBuffer()).equals(whole.subarray(-10))).toBe(true);
    const past = await api('GET', url, undefined, { range: `bytes=${whole.length}-` });
    expect(past.status).toBe(416);
    expect(past.headers.get('content-range')).toBe(`bytes */${whole.length}`);
    expect((await api('GET', url, undefined, { range: 'bytes=5-', 'if-range': etag })).status).toBe(206);
    expect((await api('GET', url, undefined, { range: 'bytes=5-', 'if-range': '"stale"' })).status).toBe(200);

    expect((await api('GET', `/v1/finetune/download?ft_id=${id}`)).status).toBe(400);
    expect((await api('GET', `/v1/finetune/download?ft_id=${id}&checkpoint=model_output_path`)).status).toBe(400);
    expect((await api('GET', `/v1/finetune/download?ft_id=${id}&checkpoint_step=3`)).status).toBe(400);
    expect((await api('GET', `/v1/finetune/download?ft_id=ft-unknown&checkpoint=merged`)).status).toBe(404);
  });

  it('takes faults, clock moves and scenarios over its control routes', async () => {
    await fetch(`${fake.url}/__fake/faults`, { method: 'POST', body: JSON.stringify({ path: '/v1/fine-tunes*', status: 503, times: 2 }) });
    expect(fake.pendingFaults()).toBe(1);
    expect((await api('GET', '/v1/fine-tunes')).status).toBe(503);
    expect((await api('GET', '/v1/fine-tunes/x')).status).toBe(503);
    expect((await api('GET', '/v1/fine-tunes')).status).toBe(200);
    await fetch(`${fake.url}/__fake/faults`, { method: 'POST', body: JSON.stringify({ path: '/v1/files', status: 429 }) });
    const limited = await api('GET', '/v1/files');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('1');
    expect((await fetch(`${fake.url}/__fake/faults`, { method: 'DELETE' })).status).toBe(200);

    const before = fake.now();
    await fetch(`${fake.url}/__fake/clock/advance`, { method: 'POST', body: '{"ms": 5000}' });
    expect(fake.now() - before).toBe(5000);
    const sc = (await (await fetch(`${fake.url}/__fake/scenario`, { method: 'POST', body: '{"runningMs": 7}' })).json()) as { default: { runningMs: number } };
    expect(sc.default.runningMs).toBe(7);
    const log = (await (await fetch(`${fake.url}/__fake/requests`)).json()) as { requests: Array<{ path: string }> };
    expect(log.requests.some((r) => r.path === '/v1/files')).toBe(true);
  });

  it('OpenAI profile: cursor pagination, and 400 for an unknown cursor', async () => {
    await fake.close();
    fake = await startFakeServer({ profile: 'openai', clock: 'manual' });
    const form = new FormData();
    form.set('purpose', 'fine-tune');
    form.set('file', new Blob(['{"prompt": "a", "completion": "b"}\n']), 't.jsonl');
    const file = (await (await fetch(`${fake.baseUrl}/files`, { method: 'POST', body: form, headers: auth() })).json()) as { id: string };
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push(((await (await api('POST', '/v1/fine_tuning/jobs', { model: 'babbage-002', training_file: file.id })).json()) as { id: string }).id);
    const p1 = (await (await api('GET', '/v1/fine_tuning/jobs?limit=2')).json()) as { data: Array<{ id: string }>; has_more: boolean };
    expect(p1.data.map((j) => j.id)).toEqual([ids[2], ids[1]]);
    expect(p1.has_more).toBe(true);
    const p2 = (await (await api('GET', `/v1/fine_tuning/jobs?limit=2&after=${ids[1]}`)).json()) as { data: Array<{ id: string }>; has_more: boolean };
    expect(p2).toMatchObject({ data: [{ id: ids[0] }], has_more: false });
    expect((await api('GET', '/v1/fine_tuning/jobs?after=ftjob-unknown')).status).toBe(400);
  });

  it('its archives are tar files in a zstd frame that the zstd tool reads', () => {
    const tar = tarArchive([{ name: 'config.json', data: Buffer.from('{"a":1}\n') }]);
    expect(tar.length % 512).toBe(0);
    const frame = zstdStoredFrame(Buffer.concat([tar, Buffer.alloc(300_000, 7)]));
    const hasTar = spawnSync('tar', ['--zstd', '--version']).status === 0 && spawnSync('zstd', ['--version']).status === 0;
    if (!hasTar) return; // the format is still checked by the byte-exact download tests
    const tmp = tempDir();
    try {
      writeFileSync(join(tmp.dir, 'a.tar.zst'), zstdStoredFrame(tar));
      execFileSync('tar', ['--zstd', '-xf', join(tmp.dir, 'a.tar.zst'), '-C', tmp.dir]);
      expect(readFileSync(join(tmp.dir, 'config.json'), 'utf8')).toBe('{"a":1}\n');
      writeFileSync(join(tmp.dir, 'b.zst'), frame);
      const out = execFileSync('zstd', ['-dc', join(tmp.dir, 'b.zst')], { maxBuffer: 1 << 22 });
      expect(out.length).toBe(tar.length + 300_000);
    } finally {
      tmp.cleanup();
    }
  });
});
