/**
 * The fake service's memory: files, jobs and the job state machine. A job's status is computed
 * lazily whenever it is read, from its scenario and the virtual clock (or the count of polls), so
 * that no timers run and tests can jump time. Terminal states never change.
 */
import { createHash } from 'node:crypto';
import { checkpointArchive, type ArchiveKind } from './archive.js';
import { DEFAULT_SCENARIO, type FakeJobScenario, type FakeProfile } from './types.js';
import type { FakeValidation } from './validate.js';

export interface FakeFile {
  id: string;
  filename: string;
  purpose: string;
  fileType: string;
  createdAt: number; // virtual ms
  content: Buffer | undefined; // undefined until the presigned PUT arrived
  uploadSig: string | undefined; // the one signature the PUT must carry; cleared once used
  validation: FakeValidation | undefined; // set by preprocess (Together) or at upload (OpenAI)
  checksum: string | undefined;
}

export interface FakeEvent {
  /** Together's lower-case type name (rendered per profile). */
  type: string;
  level: 'info' | 'warning' | 'error';
  message: string;
  at: number;
  step?: number;
  metrics?: Record<string, number>;
  id: string;
}

export interface FakeCheckpoint {
  step: number;
  at: number;
  label: string; // Intermediate, Final Merged, Final Adapter, Final
  kind: ArchiveKind;
  id: string;
}

export interface FakeJob {
  id: string;
  profile: FakeProfile;
  body: Record<string, unknown>;
  model: string;
  suffix: string | undefined;
  trainingType: 'Lora' | 'Full';
  epochs: number;
  nCheckpoints: number;
  totalSteps: number;
  outputName: string;
  scenario: FakeJobScenario;
  createdAt: number;
  updatedAt: number;
  startedAt: number;
  finishedAt: number | undefined;
  /** Index into the profile's stages, or -1 once terminal. */
  stage: number;
  status: string;
  stageEnteredAt: number;
  polls: number;
  pollsAtStageEntry: number;
  cancelAt: number | undefined;
  cancelPolls: number;
  events: FakeEvent[];
  checkpoints: FakeCheckpoint[];
  error: { code: string; message: string; param: string | null } | undefined;
  trainingLines: number;
  trainingBytes: number;
}

const STAGES: Record<FakeProfile, string[]> = {
  together: ['pending', 'queued', 'running', 'compressing', 'uploading'],
  openai: ['validating_files', 'queued', 'running'],
};
const SUCCESS: Record<FakeProfile, string> = { together: 'completed', openai: 'succeeded' };
export const TERMINAL = new Set(['completed', 'succeeded', 'error', 'user_error', 'failed', 'cancelled']);

/** The stage of a profile that a scenario's Together-named stage corresponds to. */
function stageName(profile: FakeProfile, s: NonNullable<FakeJobScenario['failInStatus']>): string {
  if (profile === 'together') return s;
  return s === 'pending' ? 'validating_files' : s === 'queued' ? 'queued' : 'running';
}

function stageMs(profile: FakeProfile, sc: FakeJobScenario, stage: string): number {
  switch (stage) {
    case 'pending':
    case 'validating_files':
      return sc.pendingMs;
    case 'queued':
      return sc.queuedMs;
    case 'running':
      return profile === 'openai' ? sc.runningMs + sc.compressingMs + sc.uploadingMs : sc.runningMs;
    case 'compressing':
      return sc.compressingMs;
    default:
      return sc.uploadingMs;
  }
}

export class FakeState {
  readonly files = new Map<string, FakeFile>();
  readonly jobs = new Map<string, FakeJob>();
  readonly archives = new Map<string, Buffer>();
  defaultScenario: FakeJobScenario;
  readonly scenarioBySuffix = new Map<string, Partial<FakeJobScenario>>();
  #counter = 0;
  #offset = 0;
  readonly #realStart = Date.now();

  constructor(
    readonly profile: FakeProfile,
    private readonly opts: { seed: string; clock: 'real' | 'manual'; startTime: number; weightBytes: number; scenario: Partial<FakeJobScenario> },
  ) {
    this.defaultScenario = { ...DEFAULT_SCENARIO, ...opts.scenario };
  }

  now(): number {
    const flowing = this.opts.clock === 'real' ? Date.now() - this.#realStart : 0;
    return this.opts.startTime + flowing + this.#offset;
  }

  advance(ms: number): void {
    this.#offset += ms;
  }

  /** `prefix-` + a uuid-shaped string derived from the seed and a counter (reproducible ids). */
  newId(prefix: string): string {
    const h = createHash('sha256').update(`${this.opts.seed}:${++this.#counter}`).digest('hex');
    return `${prefix}-${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
  }

  scenarioFor(suffix: string | undefined): FakeJobScenario {
    const over = suffix !== undefined ? this.scenarioBySuffix.get(suffix) : undefined;
    return { ...this.defaultScenario, ...over };
  }

  createJob(
    init: Pick<FakeJob, 'body' | 'model' | 'suffix' | 'trainingType' | 'epochs' | 'nCheckpoints' | 'trainingLines' | 'trainingBytes'> & {
      /** A job doomed from the start (invalid data surfaced as a failing job). */
      failWith?: string;
    },
  ): FakeJob {
    const now = this.now();
    const id = this.newId(this.profile === 'together' ? 'ft' : 'ftjob');
    let scenario = this.scenarioFor(init.suffix);
    if (init.failWith !== undefined) scenario = { ...scenario, outcome: 'user_error', failInStatus: 'pending', errorMessage: init.failWith };
    const hash = id.slice(-8);
    const job: FakeJob = {
      id,
      profile: this.profile,
      body: init.body,
      model: init.model,
      suffix: init.suffix,
      trainingType: init.trainingType,
      epochs: init.epochs,
      nCheckpoints: init.nCheckpoints,
      totalSteps: init.epochs * 10,
      outputName:
        this.profile === 'together'
          ? `fake-user/${init.model.split('/').pop() as string}${init.suffix ? `-${init.suffix}` : ''}-${hash}`
          : `ft:${init.model}:fake-org:${init.suffix ?? ''}:${hash}`,
      scenario,
      createdAt: now,
      updatedAt: now,
      startedAt: now,
      finishedAt: undefined,
      stage: 0,
      status: STAGES[this.profile][0] as string,
      stageEnteredAt: now,
      polls: 0,
      pollsAtStageEntry: 0,
      cancelAt: undefined,
      cancelPolls: 0,
      events: [],
      checkpoints: [],
      error: undefined,
      trainingLines: init.trainingLines,
      trainingBytes: init.trainingBytes,
    };
    this.#event(job, 'job_pending', 'info', 'Fine tune request created', now);
    this.jobs.set(id, job);
    return job;
  }

  /** Brings a job up to date with the clock; `poll` counts this read as a status poll. */
  update(job: FakeJob, poll: boolean): void {
    if (poll) job.polls++;
    const sc = job.scenario;
    const byPolls = sc.advanceEveryNPolls !== undefined && sc.advanceEveryNPolls > 0 ? sc.advanceEveryNPolls : undefined;
    const now = this.now();
    for (let guard = 0; guard < 50 && !TERMINAL.has(job.status); guard++) {
      if (job.status === 'cancel_requested') {
        const due = byPolls !== undefined ? job.polls - job.cancelPolls >= byPolls : now - (job.cancelAt ?? now) >= sc.cancelGraceMs;
        if (!due) return;
        const at = byPolls !== undefined ? now : (job.cancelAt ?? now) + sc.cancelGraceMs;
        this.#finish(job, 'cancelled', at);
        this.#event(job, 'job_stopped', 'info', 'Job stopped after a cancel request', at);
        return;
      }
      const stages = STAGES[job.profile];
      const stage = stages[job.stage] as string;
      const ms = stageMs(job.profile, sc, stage);
      const due = ms === 0 || (byPolls !== undefined ? job.polls - job.pollsAtStageEntry >= byPolls : now - job.stageEnteredAt >= ms);
      if (!due) return;
      const at = byPolls !== undefined || ms === 0 ? Math.max(now, job.stageEnteredAt) : job.stageEnteredAt + ms;
      if (sc.outcome !== 'completed' && stageName(job.profile, sc.failInStatus ?? 'running') === stage) {
        const message = sc.errorMessage ?? 'Training failed: the loss became NaN';
        const status = job.profile === 'openai' ? 'failed' : sc.outcome;
        job.error = { code: sc.outcome === 'user_error' ? 'invalid_training_file' : 'training_failed', message, param: sc.outcome === 'user_error' ? 'training_file' : null };
        this.#event(job, 'job_error', 'error', message, at);
        this.#finish(job, status, at);
        return;
      }
      this.#leave(job, stage, at);
      job.stage++;
      job.stageEnteredAt = at;
      job.pollsAtStageEntry = job.polls;
      job.updatedAt = at;
      job.startedAt = at;
      if (job.stage >= stages.length) {
        this.#complete(job, at);
        return;
      }
      job.status = stages[job.stage] as string;
      this.#enter(job, job.status, at);
    }
  }

  /** Cancels a job; false when it is already terminal. */
  cancel(job: FakeJob): boolean {
    this.update(job, false);
    if (TERMINAL.has(job.status) || job.status === 'cancel_requested') return !TERMINAL.has(job.status);
    const now = this.now();
    this.#event(job, 'cancel_requested', 'info', 'Cancel requested', now);
    if (job.profile === 'openai' || job.scenario.cancelGraceMs === 0) {
      this.#finish(job, 'cancelled', now);
      this.#event(job, 'job_stopped', 'info', 'Job cancelled', now);
    } else {
      job.status = 'cancel_requested';
      job.cancelAt = now;
      job.cancelPolls = job.polls;
      job.updatedAt = now;
    }
    return true;
  }

  archive(job: FakeJob, kind: ArchiveKind, step: number): Buffer {
    const key = `${job.id}:${kind}:${step}`;
    let a = this.archives.get(key);
    if (a === undefined) {
      a = checkpointArchive(job.id, job.model, kind, step, this.opts.weightBytes);
      this.archives.set(key, a);
    }
    return a;
  }

  #enter(job: FakeJob, stage: string, at: number): void {
    if (stage === 'running') {
      this.#event(job, 'job_start', 'info', 'Job started', at);
      this.#event(job, 'model_downloading', 'info', `Downloading model ${job.model}`, at);
      this.#event(job, 'model_download_complete', 'info', 'Model download complete', at);
      this.#event(job, 'training_data_downloading', 'info', 'Downloading training data', at);
      this.#event(job, 'training_data_download_complete', 'info', 'Training data download complete', at);
      this.#event(job, 'training_start', 'info', 'Training started', at);
    } else if (stage === 'compressing') {
      this.#event(job, 'model_compressing', 'info', 'Compressing output model', at);
    } else if (stage === 'uploading') {
      this.#event(job, 'model_uploading', 'info', 'Uploading output model', at);
    }
  }

  #leave(job: FakeJob, stage: string, at: number): void {
    if (stage === 'running') {
      const perEpoch = job.totalSteps / job.epochs;
      const ckptSteps = new Set<number>();
      for (let i = 1; i <= job.nCheckpoints; i++) {
        const s = Math.floor((job.totalSteps * i) / (job.nCheckpoints + 1));
        if (s > 0) ckptSteps.add(s);
      }
      for (let e = 1; e <= job.epochs; e++) {
        const step = e * perEpoch;
        for (const s of [...ckptSteps].filter((s) => s <= step && s > step - perEpoch)) {
          job.checkpoints.push({ step: s, at, label: 'Intermediate', kind: job.trainingType === 'Full' ? 'full' : 'merged', id: this.newId('ftckpt') });
          this.#event(job, 'checkpoint_save', 'info', `Checkpoint saved at step ${s}`, at, s);
        }
        this.#event(job, 'epoch_complete', 'info', `Epoch ${e}/${job.epochs} complete`, at, step, {
          step,
          train_loss: Math.round((2.5 / (1 + e)) * 1000) / 1000,
        });
      }
      this.#event(job, 'training_complete', 'info', 'Training complete', at, job.totalSteps);
    } else if (stage === 'compressing') {
      this.#event(job, 'model_compression_complete', 'info', 'Model compression complete', at);
    } else if (stage === 'uploading') {
      this.#event(job, 'model_upload_complete', 'info', 'Model upload complete', at);
    }
  }

  #complete(job: FakeJob, at: number): void {
    const step = job.totalSteps;
    if (job.trainingType === 'Full') {
      job.checkpoints.push({ step, at, label: 'Final', kind: 'full', id: this.newId('ftckpt') });
    } else {
      job.checkpoints.push({ step, at, label: 'Final Merged', kind: 'merged', id: this.newId('ftckpt') });
      job.checkpoints.push({ step, at, label: 'Final Adapter', kind: 'adapter', id: this.newId('ftckpt') });
    }
    this.#finish(job, SUCCESS[job.profile], at);
    this.#event(job, 'job_complete', 'info', `Job complete: ${job.outputName}`, at);
  }

  #finish(job: FakeJob, status: string, at: number): void {
    job.status = status;
    job.stage = -1;
    job.finishedAt = at;
    job.updatedAt = at;
  }

  #event(job: FakeJob, type: string, level: FakeEvent['level'], message: string, at: number, step?: number, metrics?: Record<string, number>): void {
    const e: FakeEvent = { type, level, message, at, id: this.newId('ftevent') };
    if (step !== undefined) e.step = step;
    if (metrics !== undefined) e.metrics = metrics;
    job.events.push(e);
  }
}
