import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InputError } from '../../../src/errors.js';
import { startFakeServer, type FakeServer } from '../../../src/models/finetune/fake-server/index.js';
import { JobFailedError, OpenAIClient, followEvents, waitForJob, type FineTuneEvent } from '../../../src/models/finetune/hosted/index.js';
import { FAST_RETRY, recordingClock, tempDir, writeChatJsonl, writeTextJsonl } from '../../helpers/finetune.js';

const MODEL = 'gpt-4o-mini-2024-07-18';
let fake: FakeServer;
let tmp: { dir: string; cleanup: () => void };
let clock: ReturnType<typeof recordingClock>;
let client: OpenAIClient;

beforeEach(async () => {
  fake = await startFakeServer({ profile: 'openai', apiKey: 'sk-test-abcdef123456', clock: 'manual', scenario: { advanceEveryNPolls: 1 } });
  tmp = tempDir();
  clock = recordingClock();
  client = new OpenAIClient({ baseUrl: fake.baseUrl, apiKey: fake.apiKey, clock, retry: FAST_RETRY, pageSize: 3 });
});
afterEach(async () => {
  await fake.close();
  tmp.cleanup();
});

describe('OpenAI-style client against the fake service', () => {
  it('uploads (multipart), creates, follows events across pages in order, and ends succeeded', async () => {
    const train = writeChatJsonl(join(tmp.dir, 'train.jsonl'), 10);
    let last = 0;
    const file = await client.uploadFile(train, { onProgress: (p) => (last = p.bytes) });
    expect(file.id).toMatch(/^file-/);
    expect(last).toBe(file.bytes);
    const up = fake.requests.find((r) => r.method === 'POST' && r.path === '/v1/files');
    expect(up?.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
    expect(Number(up?.headers['content-length'])).toBe(up?.bodyBytes);

    const job = await client.createJob({ model: MODEL, trainingFile: file.id, epochs: 4, suffix: 'labor', batchSize: 'auto', learningRateMultiplier: 2 });
    expect(job).toMatchObject({ status: 'validating_files', state: 'pending' });
    const sent = fake.requests.find((r) => r.method === 'POST' && r.path === '/v1/fine_tuning/jobs');
    expect(sent?.json).toEqual({
      model: MODEL,
      training_file: file.id,
      suffix: 'labor',
      method: { type: 'supervised', supervised: { hyperparameters: { n_epochs: 4, batch_size: 'auto', learning_rate_multiplier: 2 } } },
    });

    const events: FineTuneEvent[] = [];
    const done = await waitForJob(client, job.id, { intervalMs: 1, sleep: clock.sleep, onEvent: (e) => events.push(e) });
    expect(done).toMatchObject({ status: 'succeeded', state: 'completed' });
    expect(done.outputModel).toMatch(/^ft:gpt-4o-mini-2024-07-18:fake-org:labor:/);
    // every event once, oldest first, although the service lists newest first in pages of 3
    const all = await client.listEvents(job.id);
    expect(all.length).toBeGreaterThan(6);
    expect(events.map((e) => e.id)).toEqual(all.map((e) => e.id));
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
    expect(events[0]?.message).toBe('Fine tune request created');
    expect(events.at(-1)?.message).toMatch(/^Job complete/);
    expect(events.filter((e) => e.type === 'metrics').map((e) => e.step)).toEqual([10, 20, 30, 40]);
    const pages = fake.requests.filter((r) => r.path.endsWith('/events'));
    expect(pages.some((r) => r.query.after !== undefined)).toBe(true);

    const ckpts = await client.listCheckpoints(job.id);
    expect(ckpts.length).toBeGreaterThan(1);
    await expect(client.downloadCheckpoint(job.id)).rejects.toThrow(/no weight download/);
  });

  it('lists jobs across pages, newest first', async () => {
    const train = writeChatJsonl(join(tmp.dir, 'train.jsonl'), 2);
    const file = await client.uploadFile(train);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await client.createJob({ model: MODEL, trainingFile: file.id, suffix: `s${i}` })).id);
    const listed = await client.listJobs();
    expect(listed.map((j) => j.id)).toEqual([...ids].reverse());
    expect((await client.listJobs({ limit: 2 })).map((j) => j.id)).toEqual([ids[4], ids[3]]);
  });

  it('a failed job carries error.message; JobFailedError reports it', async () => {
    fake.setScenario({ outcome: 'error', failInStatus: 'running', errorMessage: 'Training diverged' });
    const file = await client.uploadFile(writeChatJsonl(join(tmp.dir, 't.jsonl'), 2));
    const job = await client.createJob({ model: MODEL, trainingFile: file.id });
    const err = await waitForJob(client, job.id, { intervalMs: 1, sleep: clock.sleep }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JobFailedError);
    expect(err).toMatchObject({ jobStatus: 'failed', serviceMessage: 'Training diverged' });
    expect((await client.getJob(job.id)).error).toBe('Training diverged');
  });

  it('invalid data fails the job while validating files, with the reason', async () => {
    const bad = join(tmp.dir, 'bad.jsonl');
    writeFileSync(bad, '{"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": "y"}]}\n{"prompt": "a", "completion": "b"}\n');
    const file = await client.uploadFile(bad, { validate: false });
    const job = await client.createJob({ model: MODEL, trainingFile: file.id });
    const states: string[] = [];
    const err = await waitForJob(client, job.id, { intervalMs: 1, sleep: clock.sleep, onUpdate: (j) => states.push(j.status) }).catch((e: unknown) => e);
    expect(states).toEqual(['failed']);
    expect((err as Error).message).toMatch(/not valid: Line 2: format INSTRUCTION differs/);
  });

  it('cancels at once; cancelling again is a 400', async () => {
    const file = await client.uploadFile(writeChatJsonl(join(tmp.dir, 't.jsonl'), 2));
    const job = await client.createJob({ model: MODEL, trainingFile: file.id });
    expect((await client.cancelJob(job.id)).state).toBe('cancelled');
    await expect(client.cancelJob(job.id)).rejects.toMatchObject({ kind: 'bad_request', status: 400 });
    const events: FineTuneEvent[] = [];
    const end = await followEvents(client, job.id, (e) => events.push(e), { intervalMs: 1, sleep: clock.sleep });
    expect(end?.state).toBe('cancelled');
    expect(events.map((e) => e.message)).toContain('Cancel requested');
  });

  it('errors: bad key, unknown model, unknown job, plain-text data and Together-only parameters', async () => {
    const bad = new OpenAIClient({ baseUrl: fake.baseUrl, apiKey: 'sk-wrong-000000000', clock, retry: FAST_RETRY });
    const e1 = await bad.listJobs().catch((e: unknown) => e);
    expect(e1).toMatchObject({ kind: 'auth', status: 401, provider: 'openai' });
    expect((e1 as Error).message).not.toContain('sk-wrong-000000000');
    const file = await client.uploadFile(writeChatJsonl(join(tmp.dir, 't.jsonl'), 2));
    await expect(client.createJob({ model: 'gpt-nope', trainingFile: file.id })).rejects.toMatchObject({ kind: 'not_found', param: 'model' });
    await expect(client.getJob('ftjob-nope')).rejects.toMatchObject({ kind: 'not_found', status: 404 });
    await expect(client.uploadFile(writeTextJsonl(join(tmp.dir, 'text.jsonl'), 2))).rejects.toThrow(/no plain-text format/);
    await expect(client.createJob({ model: MODEL, trainingFile: file.id, training: { type: 'full' } })).rejects.toBeInstanceOf(InputError);
    await expect(client.createJob({ model: MODEL, trainingFile: file.id, learningRate: 1e-5 })).rejects.toThrow(/Together only/);
  });

  it('429 and 503 during polling are waited out', async () => {
    const file = await client.uploadFile(writeChatJsonl(join(tmp.dir, 't.jsonl'), 2));
    const job = await client.createJob({ model: MODEL, trainingFile: file.id });
    fake.addFault({ method: 'GET', path: `/v1/fine_tuning/jobs/${job.id}`, status: 429, headers: { 'retry-after': '1' } });
    fake.addFault({ method: 'GET', path: `/v1/fine_tuning/jobs/${job.id}`, status: 503 });
    const done = await waitForJob(client, job.id, { intervalMs: 1, sleep: clock.sleep });
    expect(done.state).toBe('completed');
    expect(clock.sleeps).toContain(1_000);
    expect(fake.pendingFaults()).toBe(0);
  });
});
