/** Together AI routes of the fake (API reference section 1; endpoint table in section 3.2). */
import { createHash, randomBytes } from 'node:crypto';
import { apiError, formFields, json, parseJsonBody, rangeResponse, type FakeRequest, type FakeResponse } from './http.js';
import { TERMINAL, type FakeEvent, type FakeFile, type FakeJob, type FakeState } from './state.js';
import { validateUpload } from './validate.js';

export interface RouteOptions {
  models: readonly string[];
  upperCaseEvents: boolean;
  invalidFileBehaviour: 'reject' | 'job';
}

const iso = (ms: number): string => new Date(ms).toISOString();

export async function togetherRoute(state: FakeState, req: FakeRequest, o: RouteOptions): Promise<FakeResponse | undefined> {
  const { method, path } = req;
  let m: RegExpExecArray | null;

  if (method === 'POST' && path === '/v1/files') return fileSlot(state, req);
  if (method === 'POST' && path === '/v1/files/upload') return oneShotUpload(state, req);
  if (method === 'PUT' && (m = /^\/__fake\/upload\/([^/]+)$/.exec(path))) return presignedPut(state, req, m[1] as string);
  if (method === 'GET' && path === '/v1/files') return json(200, { object: 'list', data: [...state.files.values()].filter((f) => f.content).map(fileObject) });
  if ((m = /^\/v1\/files\/([^/]+)(\/preprocess|\/content)?$/.exec(path))) {
    const file = state.files.get(decodeURIComponent(m[1] as string));
    if (!file) return apiError(404, `File ${m[1]} not found`, { code: 'file_not_found' });
    if (method === 'POST' && m[2] === '/preprocess') {
      if (!file.content) return apiError(400, `File ${file.id} has no content yet: upload it first`);
      file.validation ??= validateUpload(file.content);
      return json(200, fileObject(file));
    }
    if (method === 'GET' && m[2] === '/content') return file.content ? { status: 200, headers: { 'content-type': 'text/plain' }, body: file.content } : apiError(404, 'no content');
    if (method === 'GET' && m[2] === undefined) return json(200, fileObject(file));
    if (method === 'DELETE' && m[2] === undefined) {
      state.files.delete(file.id);
      return json(200, { id: file.id, object: 'file', deleted: true });
    }
    return undefined;
  }

  if (method === 'POST' && path === '/v1/fine-tunes') return createJob(state, req, o);
  if (method === 'GET' && path === '/v1/fine-tunes') {
    const jobs = [...state.jobs.values()];
    for (const j of jobs) state.update(j, false);
    return json(200, { data: jobs.map((j) => jobObject(state, j, false, o)) });
  }
  if (method === 'GET' && path === '/v1/fine-tunes/models/supported') return json(200, { models: o.models });
  if ((m = /^\/v1\/fine-tunes\/([^/]+)(\/cancel|\/events|\/checkpoints)?$/.exec(path))) {
    const job = state.jobs.get(decodeURIComponent(m[1] as string));
    if (!job) return apiError(404, `Fine-tune job ${m[1]} not found`, { code: 'not_found' });
    if (method === 'GET' && m[2] === undefined) {
      state.update(job, true);
      return json(200, jobObject(state, job, true, o));
    }
    state.update(job, false);
    if (method === 'POST' && m[2] === '/cancel') {
      if (!state.cancel(job)) return apiError(400, `Job ${job.id} is already ${job.status} and cannot be cancelled`);
      return json(200, jobObject(state, job, false, o));
    }
    if (method === 'GET' && m[2] === '/events') return json(200, { data: job.events.map((e) => eventObject(e, o)) });
    if (method === 'GET' && m[2] === '/checkpoints') {
      return json(200, {
        data: job.checkpoints.map((c) => ({
          step: c.step,
          created_at: iso(c.at),
          path: `s3://fake-bucket/${job.id}/${c.kind}-${c.step}`,
          checkpoint_type: c.label,
          checkpoint: c.kind === 'adapter' ? 'adapter' : 'model',
        })),
      });
    }
    return undefined;
  }
  if (method === 'GET' && path === '/v1/finetune/download') return download(state, req);
  return undefined;
}

/** Flow A, step 1: an upload slot: 302 to a presigned URL on this server plus the new file's id. */
async function fileSlot(state: FakeState, req: FakeRequest): Promise<FakeResponse> {
  const { fields } = await formFields(req);
  if (fields.purpose === undefined || fields.file_name === undefined) {
    return apiError(400, 'purpose and file_name are required', { param: fields.purpose === undefined ? 'purpose' : 'file_name' });
  }
  if (fields.checksum !== undefined) {
    const dup = [...state.files.values()].find((f) => f.checksum === fields.checksum && f.content);
    if (dup) return json(409, { file_id: dup.id, message: 'File already exists' });
  }
  const id = state.newId('file');
  const sig = randomBytes(8).toString('hex');
  state.files.set(id, {
    id,
    filename: fields.file_name,
    purpose: fields.purpose,
    fileType: fields.file_type ?? 'jsonl',
    createdAt: state.now(),
    content: undefined,
    uploadSig: sig,
    validation: undefined,
    checksum: fields.checksum,
  });
  return { status: 302, headers: { location: `${req.origin}/__fake/upload/${id}?sig=${sig}`, 'x-together-file-id': id }, body: '' };
}

/** Flow A, step 2: the storage PUT (no API key; the signature is the authorisation, usable once). */
function presignedPut(state: FakeState, req: FakeRequest, id: string): FakeResponse {
  const file = state.files.get(id);
  const sig = req.query.get('sig');
  if (!file || file.uploadSig === undefined || sig !== file.uploadSig) {
    return { status: 403, headers: { 'content-type': 'application/xml' }, body: '<Error><Code>AccessDenied</Code></Error>' };
  }
  file.content = req.body;
  file.uploadSig = undefined;
  return { status: 200, headers: { etag: `"${createHash('md5').update(req.body).digest('hex')}"` }, body: '' };
}

/** Flow B: the documented one-shot multipart upload. */
async function oneShotUpload(state: FakeState, req: FakeRequest): Promise<FakeResponse> {
  const { fields, file } = await formFields(req);
  if (!file) return apiError(400, 'file is required', { param: 'file' });
  if (!fields.purpose) return apiError(400, 'purpose is required', { param: 'purpose' });
  const id = state.newId('file');
  const f: FakeFile = {
    id,
    filename: fields.file_name ?? file.name,
    purpose: fields.purpose,
    fileType: fields.file_type ?? 'jsonl',
    createdAt: state.now(),
    content: file.data,
    uploadSig: undefined,
    validation: validateUpload(file.data),
    checksum: undefined,
  };
  state.files.set(id, f);
  return json(200, fileObject(f));
}

function fileObject(f: FakeFile): Record<string, unknown> {
  const v = f.validation;
  return {
    id: f.id,
    object: 'file',
    created_at: Math.floor(f.createdAt / 1000),
    filename: f.filename,
    bytes: f.content?.length ?? 0,
    purpose: f.purpose,
    FileType: f.fileType,
    Processed: v?.valid === true,
    LineCount: v?.lines ?? 0,
    processing_status: v === undefined ? 'PENDING' : v.valid ? 'COMPLETED' : 'INVALID_FORMAT',
    ...(v
      ? {
          validation_report: {
            valid: v.valid,
            file_id: f.id,
            nlines: v.lines,
            ...(v.format ? { dataset_format: v.format } : {}),
            ...(v.error ? { error: v.error, error_type: 'INVALID_FORMAT' } : {}),
          },
        }
      : {}),
  };
}

async function createJob(state: FakeState, req: FakeRequest, o: RouteOptions): Promise<FakeResponse> {
  const parsed = parseJsonBody(req);
  if (!parsed.ok) return parsed.response;
  const b = parsed.value;
  const bad = (param: string, message: string): FakeResponse => apiError(400, message, { param });
  if (typeof b.model !== 'string' || b.model === '') {
    if (typeof b.from_checkpoint !== 'string') return bad('model', 'model is required');
  }
  const model = typeof b.model === 'string' ? b.model : String(b.from_checkpoint);
  if (typeof b.model === 'string' && !o.models.includes(b.model)) {
    return apiError(404, `The model "${b.model}" is not available for fine-tuning`, { param: 'model', code: 'model_not_found' });
  }
  const files: Record<string, FakeFile> = {};
  for (const key of ['training_file', 'validation_file']) {
    const v = b[key];
    if (v === undefined || v === null) {
      if (key === 'training_file') return bad(key, 'training_file is required');
      continue;
    }
    if (typeof v !== 'string') return bad(key, `${key} must be a file id`);
    const f = state.files.get(v);
    if (!f || !f.content) return apiError(404, `File ${v} not found`, { param: key, code: 'file_not_found' });
    if (f.purpose !== 'fine-tune') return bad(key, `File ${v} has purpose "${f.purpose}", expected "fine-tune"`);
    files[key] = f;
  }
  const intField = (key: string, min: number, max: number): number | FakeResponse | undefined => {
    const v = b[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) return bad(key, `${key} must be an integer in [${min}, ${max}]`);
    return v;
  };
  const epochs = intField('n_epochs', 1, 20);
  if (typeof epochs === 'object') return epochs;
  const nCheckpoints = intField('n_checkpoints', 1, 20);
  if (typeof nCheckpoints === 'object') return nCheckpoints;
  const nEvals = intField('n_evals', 0, 100);
  if (typeof nEvals === 'object') return nEvals;
  if (b.learning_rate !== undefined && !(typeof b.learning_rate === 'number' && b.learning_rate > 0 && b.learning_rate <= 1)) {
    return bad('learning_rate', 'learning_rate must be a number in (0, 1]');
  }
  if (b.batch_size !== undefined && b.batch_size !== 'max' && !(typeof b.batch_size === 'number' && Number.isInteger(b.batch_size) && b.batch_size > 0)) {
    return bad('batch_size', 'batch_size must be a positive integer or "max"');
  }
  if (b.suffix !== undefined && !(typeof b.suffix === 'string' && b.suffix.length <= 64)) return bad('suffix', 'suffix must be a string of at most 64 characters');
  let trainingType: 'Lora' | 'Full' = 'Lora';
  if (b.training_type !== undefined && b.training_type !== null) {
    const t = b.training_type as Record<string, unknown>;
    if (t.type === 'Full') trainingType = 'Full';
    else if (t.type !== 'Lora' || typeof t.lora_r !== 'number' || typeof t.lora_alpha !== 'number') {
      return bad('training_type', 'training_type must be {"type":"Full"} or {"type":"Lora", "lora_r": int, "lora_alpha": int, ...}');
    }
  }
  const train = files.training_file as FakeFile;
  let failWith: string | undefined;
  for (const f of Object.values(files)) {
    f.validation ??= validateUpload(f.content as Buffer);
    if (!f.validation.valid) {
      const msg = `File ${f.id} is not valid: ${f.validation.error ?? 'invalid format'}`;
      if (o.invalidFileBehaviour === 'reject') return bad(f === train ? 'training_file' : 'validation_file', msg);
      failWith = msg;
    }
  }
  const job = state.createJob({
    body: b,
    model,
    suffix: typeof b.suffix === 'string' ? b.suffix : undefined,
    trainingType,
    epochs: epochs ?? 1,
    nCheckpoints: nCheckpoints ?? 1,
    trainingLines: train.validation?.lines ?? 0,
    trainingBytes: train.content?.length ?? 0,
    ...(failWith !== undefined ? { failWith } : {}),
  });
  return json(200, jobObject(state, job, false, o));
}

function jobObject(state: FakeState, job: FakeJob, full: boolean, o: RouteOptions): Record<string, unknown> {
  const b = job.body;
  const running = ['running', 'compressing', 'uploading', 'completed'].includes(job.status);
  const sc = job.scenario;
  const remaining: Record<string, number> = { pending: sc.pendingMs, queued: sc.queuedMs, running: sc.runningMs, compressing: sc.compressingMs, uploading: sc.uploadingMs };
  const obj: Record<string, unknown> = {
    id: job.id,
    status: job.status,
    created_at: iso(job.createdAt),
    updated_at: iso(job.updatedAt),
    started_at: iso(job.startedAt),
    model: job.model,
    model_output_name: job.outputName,
    training_file: b.training_file,
    validation_file: b.validation_file ?? null,
    n_epochs: job.epochs,
    n_checkpoints: job.nCheckpoints,
    n_evals: b.n_evals ?? 0,
    batch_size: b.batch_size === undefined || b.batch_size === 'max' ? 16 : b.batch_size,
    learning_rate: b.learning_rate ?? 0.00001,
    warmup_ratio: b.warmup_ratio ?? 0,
    suffix: job.suffix ?? null,
    training_type: b.training_type ?? { type: 'Lora', lora_r: 8, lora_alpha: 16, lora_dropout: 0, lora_trainable_modules: 'all-linear' },
    training_method: b.training_method ?? { method: 'sft', train_on_inputs: 'auto' },
    trainingfile_numlines: job.trainingLines,
    trainingfile_size: job.trainingBytes,
    progress: TERMINAL.has(job.status)
      ? { estimate_available: false, seconds_remaining: 0 }
      : { estimate_available: true, seconds_remaining: Math.max(0, Math.round(((remaining[job.status] ?? 0) - (state.now() - job.stageEnteredAt)) / 1000)) },
  };
  if (running) {
    obj.token_count = job.trainingBytes * job.epochs;
    obj.total_price = Math.max(1, Math.round(job.trainingBytes / 100));
  }
  if (full) obj.events = job.events.map((e) => eventObject(e, o));
  return obj;
}

function eventObject(e: FakeEvent, o: RouteOptions): Record<string, unknown> {
  return {
    object: 'fine-tune-event',
    created_at: iso(e.at),
    level: e.level,
    message: e.message,
    type: o.upperCaseEvents ? e.type.toUpperCase() : e.type,
    ...(e.step !== undefined ? { step: e.step } : {}),
  };
}

/** GET /finetune/download: the checkpoint archive, with Range support (API reference 3.7). */
function download(state: FakeState, req: FakeRequest): FakeResponse {
  const ftId = req.query.get('ft_id');
  if (!ftId) return apiError(400, 'ft_id is required', { param: 'ft_id' });
  const job = state.jobs.get(ftId);
  if (!job) return apiError(404, `Fine-tune job ${ftId} not found`, { code: 'not_found' });
  state.update(job, false);
  if (job.status !== 'completed') return apiError(400, `Fine-tune job ${ftId} is not completed (status: ${job.status})`);
  const stepParam = req.query.get('checkpoint_step');
  const checkpoint = req.query.get('checkpoint');
  let kind: 'merged' | 'adapter' | 'full';
  let step = job.totalSteps;
  if (stepParam !== null && stepParam !== '' && Number(stepParam) !== 0) {
    step = Number(stepParam);
    const c = job.checkpoints.find((x) => x.step === step);
    if (!c) return apiError(400, `No checkpoint at step ${stepParam}`, { param: 'checkpoint_step' });
    kind = job.trainingType === 'Full' ? 'full' : checkpoint === 'adapter' ? 'adapter' : 'merged';
  } else if (checkpoint === null || checkpoint === '') {
    return apiError(400, 'checkpoint or checkpoint_step is required', { param: 'checkpoint' });
  } else if (job.trainingType === 'Full') {
    if (checkpoint !== 'model_output_path') return apiError(400, `checkpoint "${checkpoint}" is not available for a Full training job`, { param: 'checkpoint' });
    kind = 'full';
  } else {
    if (checkpoint !== 'merged' && checkpoint !== 'adapter') return apiError(400, `checkpoint "${checkpoint}" is not available for a LoRA job`, { param: 'checkpoint' });
    kind = checkpoint;
  }
  const data = state.archive(job, kind, step);
  const etag = `"${createHash('sha256').update(data).digest('hex').slice(0, 32)}"`;
  return rangeResponse(req, data, {
    'content-type': 'application/octet-stream',
    etag,
    'content-disposition': `attachment; filename="${job.outputName.split('/').pop() as string}.tar.zst"`,
  });
}

/** The archive the download route serves (for tests to compare against). */
export function togetherArchive(state: FakeState, jobId: string, checkpoint: string | undefined, step: number | undefined): Buffer {
  const job = state.jobs.get(jobId);
  if (!job) throw new Error(`no job ${jobId}`);
  const kind = job.trainingType === 'Full' ? 'full' : checkpoint === 'adapter' ? 'adapter' : 'merged';
  return state.archive(job, kind, step ?? job.totalSteps);
}
