/** OpenAI-style routes of the fake (API reference section 2; pagination as in 3.6). */
import { apiError, formFields, json, parseJsonBody, type FakeRequest, type FakeResponse } from './http.js';
import type { RouteOptions } from './together.js';
import type { FakeEvent, FakeFile, FakeJob, FakeState } from './state.js';
import { validateUpload } from './validate.js';

const unix = (ms: number): number => Math.floor(ms / 1000);

export async function openaiRoute(state: FakeState, req: FakeRequest, o: RouteOptions): Promise<FakeResponse | undefined> {
  const { method, path } = req;
  let m: RegExpExecArray | null;

  if (method === 'POST' && path === '/v1/files') return upload(state, req);
  if (method === 'GET' && path === '/v1/files') {
    const files = [...state.files.values()].reverse().map(fileObject);
    return json(200, { object: 'list', data: files, first_id: files[0]?.id ?? null, last_id: files[files.length - 1]?.id ?? null, has_more: false });
  }
  if ((m = /^\/v1\/files\/([^/]+)(\/content)?$/.exec(path))) {
    const file = state.files.get(decodeURIComponent(m[1] as string));
    if (!file) return apiError(404, `No such File object: ${m[1]}`, { param: 'id', code: 'file_not_found' });
    if (method === 'GET' && m[2] === '/content') return { status: 200, headers: { 'content-type': 'application/octet-stream' }, body: file.content ?? Buffer.alloc(0) };
    if (method === 'GET') return json(200, fileObject(file));
    if (method === 'DELETE') {
      state.files.delete(file.id);
      return json(200, { id: file.id, object: 'file', deleted: true });
    }
    return undefined;
  }
  if (method === 'POST' && path === '/v1/fine_tuning/jobs') return createJob(state, req, o);
  if (method === 'GET' && path === '/v1/fine_tuning/jobs') {
    const jobs = [...state.jobs.values()].reverse();
    for (const j of jobs) state.update(j, false);
    return page(req, jobs.map(jobObject), 20, false);
  }
  if ((m = /^\/v1\/fine_tuning\/jobs\/([^/]+)(\/cancel|\/events|\/checkpoints)?$/.exec(path))) {
    const job = state.jobs.get(decodeURIComponent(m[1] as string));
    if (!job) return apiError(404, `Could not find fine-tune: ${m[1]}`, { param: 'fine_tune_id', code: 'fine_tune_not_found' });
    if (method === 'GET' && m[2] === undefined) {
      state.update(job, true);
      return json(200, jobObject(job));
    }
    state.update(job, false);
    if (method === 'POST' && m[2] === '/cancel') {
      if (!state.cancel(job)) return apiError(400, `Job ${job.id} has already ${job.status} and cannot be cancelled`);
      return json(200, jobObject(job));
    }
    if (method === 'GET' && m[2] === '/events') return page(req, [...job.events].reverse().map((e) => eventObject(e)), 20, false);
    if (method === 'GET' && m[2] === '/checkpoints') {
      const items = [...job.checkpoints]
        .filter((c) => c.kind !== 'adapter')
        .reverse()
        .map((c) => ({
          object: 'fine_tuning.job.checkpoint',
          id: c.id,
          created_at: unix(c.at),
          fine_tuned_model_checkpoint: `${job.outputName}:ckpt-step-${c.step}`,
          fine_tuning_job_id: job.id,
          step_number: c.step,
          metrics: { step: c.step, train_loss: 1.5, train_mean_token_accuracy: 0.6 },
        }));
      return page(req, items, 10, true);
    }
    return undefined;
  }
  return undefined;
}

/**
 * Cursor pagination: `after` is the id of the last item already seen (exclusive), `limit` the
 * page size. An unknown `after` is answered with 400 (the real behaviour is not documented).
 */
function page(req: FakeRequest, items: Array<Record<string, unknown>>, defaultLimit: number, withIds: boolean): FakeResponse {
  const limitRaw = req.query.get('limit');
  const limit = limitRaw === null ? defaultLimit : Number(limitRaw);
  if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) return apiError(400, 'limit must be an integer in [1, 10000]', { param: 'limit' });
  const after = req.query.get('after');
  let start = 0;
  if (after !== null && after !== '') {
    const i = items.findIndex((x) => x.id === after);
    if (i === -1) return apiError(400, `Unknown cursor: ${after}`, { param: 'after' });
    start = i + 1;
  }
  const data = items.slice(start, start + limit);
  const body: Record<string, unknown> = { object: 'list', data, has_more: start + limit < items.length };
  if (withIds) {
    body.first_id = data[0]?.id ?? null;
    body.last_id = data[data.length - 1]?.id ?? null;
  }
  return json(200, body);
}

async function upload(state: FakeState, req: FakeRequest): Promise<FakeResponse> {
  if (!(req.headers['content-type'] ?? '').startsWith('multipart/form-data')) return apiError(400, 'expected multipart/form-data');
  const { fields, file } = await formFields(req);
  if (!file) return apiError(400, "Missing required parameter: 'file'", { param: 'file' });
  if (!fields.purpose) return apiError(400, "Missing required parameter: 'purpose'", { param: 'purpose' });
  const f: FakeFile = {
    id: state.newId('file'),
    filename: file.name,
    purpose: fields.purpose,
    fileType: 'jsonl',
    createdAt: state.now(),
    content: file.data,
    uploadSig: undefined,
    // OpenAI fine-tuning data: chat or prompt/completion (no plain-text format).
    validation: fields.purpose === 'fine-tune' ? validateUpload(file.data, ['CONVERSATION', 'INSTRUCTION', 'PREFERENCE']) : undefined,
    checksum: undefined,
  };
  state.files.set(f.id, f);
  return json(200, fileObject(f));
}

function fileObject(f: FakeFile): Record<string, unknown> & { id: string } {
  return {
    id: f.id,
    object: 'file',
    bytes: f.content?.length ?? 0,
    created_at: unix(f.createdAt),
    filename: f.filename,
    purpose: f.purpose,
    // Deprecated field; failures surface in the job's `error` (API reference 2.2).
    status: 'processed',
    status_details: null,
  };
}

async function createJob(state: FakeState, req: FakeRequest, o: RouteOptions): Promise<FakeResponse> {
  const parsed = parseJsonBody(req);
  if (!parsed.ok) return parsed.response;
  const b = parsed.value;
  const bad = (param: string, message: string): FakeResponse => apiError(400, message, { param });
  if (typeof b.model !== 'string' || b.model === '') return bad('model', "Missing required parameter: 'model'");
  if (!o.models.includes(b.model)) return apiError(404, `The model \`${b.model}\` does not exist or you do not have access to it.`, { param: 'model', code: 'model_not_found' });
  if (typeof b.training_file !== 'string') return bad('training_file', "Missing required parameter: 'training_file'");
  const files: FakeFile[] = [];
  for (const key of ['training_file', 'validation_file']) {
    const v = b[key];
    if (v === undefined || v === null) continue;
    const f = typeof v === 'string' ? state.files.get(v) : undefined;
    if (!f) return apiError(404, `Invalid file ID: ${String(v)}`, { param: key, code: 'file_not_found' });
    if (f.purpose !== 'fine-tune') return bad(key, `File ${f.id} has purpose "${f.purpose}", expected "fine-tune"`);
    files.push(f);
  }
  if (b.suffix !== undefined && b.suffix !== null && !(typeof b.suffix === 'string' && b.suffix.length <= 64)) return bad('suffix', 'suffix must be at most 64 characters');
  const method = (b.method ?? {}) as Record<string, unknown>;
  const hyper = (((method.supervised ?? {}) as Record<string, unknown>).hyperparameters ?? b.hyperparameters ?? {}) as Record<string, unknown>;
  const epochs = hyper.n_epochs === undefined || hyper.n_epochs === 'auto' ? 3 : hyper.n_epochs;
  if (typeof epochs !== 'number' || !Number.isInteger(epochs) || epochs < 1 || epochs > 50) return bad('n_epochs', 'n_epochs must be "auto" or an integer in [1, 50]');
  // Invalid data fails the job while validating files, with the reason in `error` (the modern behaviour).
  const invalid = files.find((f) => f.validation !== undefined && !f.validation.valid);
  const train = files[0] as FakeFile;
  const job = state.createJob({
    body: b,
    model: b.model,
    suffix: typeof b.suffix === 'string' ? b.suffix : undefined,
    trainingType: 'Full',
    epochs,
    nCheckpoints: 2,
    trainingLines: train.validation?.lines ?? 0,
    trainingBytes: train.content?.length ?? 0,
    ...(invalid ? { failWith: `The file ${invalid.id} is not valid: ${invalid.validation?.error ?? ''}` } : {}),
  });
  return json(200, jobObject(job));
}

function jobObject(job: FakeJob): Record<string, unknown> & { id: string } {
  const b = job.body;
  return {
    object: 'fine_tuning.job',
    id: job.id,
    created_at: unix(job.createdAt),
    finished_at: job.finishedAt !== undefined ? unix(job.finishedAt) : null,
    model: job.model,
    fine_tuned_model: job.status === 'succeeded' ? job.outputName : null,
    organization_id: 'org-fake',
    status: job.status,
    error: job.error ?? null,
    hyperparameters: { n_epochs: job.epochs, batch_size: 'auto', learning_rate_multiplier: 'auto' },
    training_file: b.training_file,
    validation_file: b.validation_file ?? null,
    result_files: [],
    trained_tokens: job.status === 'succeeded' ? job.trainingBytes * job.epochs : null,
    seed: typeof b.seed === 'number' ? b.seed : 42,
    suffix: job.suffix ?? null,
    estimated_finish: null,
    method: b.method ?? { type: 'supervised' },
  };
}

function eventObject(e: FakeEvent): Record<string, unknown> & { id: string } {
  return {
    object: 'fine_tuning.job.event',
    id: e.id,
    created_at: unix(e.at),
    level: e.level === 'warning' ? 'warn' : e.level,
    message: e.message,
    type: e.metrics ? 'metrics' : 'message',
    ...(e.metrics ? { data: e.metrics } : {}),
  };
}
