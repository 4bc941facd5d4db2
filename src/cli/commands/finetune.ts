/**
 * `labor-llm finetune`: fine-tuning jobs.
 *
 *   finetune submit     validate + upload JSONL, create a hosted job; --wait polls it, --download fetches the result
 *   finetune status     a job's state (--wait: until it ends)
 *   finetune events     a job's events (--follow: until it ends)
 *   finetune cancel     ask the service to stop a job
 *   finetune download   the checkpoint archive, resumable (.part + Range), renamed when verified
 *   finetune list       the account's jobs
 *   finetune fake-server  the offline fake service, for trying the loop without an account
 *
 * Keys come from TOGETHER_API_KEY / OPENAI_API_KEY only and are never printed. More subcommands
 * (e.g. `finetune local`) are added by appending to `finetuneSubcommands`.
 */
import { SingleBar } from 'cli-progress';
import type { Argv, CommandModule } from 'yargs';
import { CancelledError, InputError } from '../../errors.js';
import { startFakeServer, type FakeJobScenario } from '../../models/finetune/fake-server/index.js';
import {
  API_KEY_ENV,
  BASE_URL_ENV,
  PROVIDERS,
  checkJobParams,
  hostedClientFromEnv,
  waitForJob,
  DEFAULT_WAIT_DEADLINE_MS,
  type CreateJobParams,
  type DownloadResult,
  type FineTuneEvent,
  type FineTuneJob,
  type HostedFineTuneClient,
  type Provider,
  type TransferProgress,
} from '../../models/finetune/hosted/index.js';
import { validateTrainingJsonl, type JsonlSummary } from '../../models/finetune/hosted/jsonl.js';
import { CONVERT_TYPES, type ConvertCheckpointResult } from '../../models/convert/index.js';
import { type ArgsOf, formatBytes, oneOf } from '../args.js';
import { untilInterrupted, withInterrupt } from '../interrupt.js';
import { log, printJson, type GlobalOptions } from '../output.js';
import { runConversion } from './model-convert.js';
import { finetuneLocalCommand } from './finetune-local.js';

// ---------------------------------------------------------------------------------------------
// Shared options and helpers

function hostedOptions<T>(y: Argv<T>) {
  return y
    .option('provider', { type: 'string', choices: PROVIDERS, default: 'together' as Provider, describe: 'hosted service' })
    .option('base-url', {
      type: 'string',
      describe: `service base URL (default: ${BASE_URL_ENV.together} / ${BASE_URL_ENV.openai}, else the public API)`,
    })
    .option('max-retries', { type: 'number', default: 5, describe: 'retries of a failed request (429, 5xx, network)' })
    .option('max-retry-time', { type: 'number', default: 300, describe: 'seconds within which retries must fit' })
    .option('timeout', { type: 'number', default: 60, describe: 'seconds to wait for one answer' });
}

interface HostedArgs extends GlobalOptions {
  provider: string;
  'base-url'?: string | undefined;
  'max-retries': number;
  'max-retry-time': number;
  timeout: number;
}

function clientFrom(args: HostedArgs): HostedFineTuneClient {
  const provider = oneOf('provider', args.provider, PROVIDERS);
  for (const [name, v] of [['max-retries', args['max-retries']], ['max-retry-time', args['max-retry-time']], ['timeout', args.timeout]] as const) {
    if (!(Number.isFinite(v) && v >= 0)) throw new InputError(`--${name} must be a non-negative number, got ${String(v)}`);
  }
  return hostedClientFromEnv({
    provider,
    ...(args['base-url'] !== undefined ? { baseUrl: args['base-url'] } : {}),
    retry: { maxRetries: Math.floor(args['max-retries']), maxElapsedMs: args['max-retry-time'] * 1000 },
    timeoutMs: Math.max(1, args.timeout * 1000),
    onRetry: (r) => log(args, `${r.method} ${r.path}: ${r.reason}; retry ${r.retry} in ${(r.delayMs / 1000).toFixed(1)} s`),
  });
}

/** cli-progress bars on stderr for transfers, unless --quiet or --json. */
function transferBars(args: GlobalOptions): { onProgress: (p: TransferProgress) => void; stop: () => void } {
  if (args.quiet || args.json) return { onProgress: () => undefined, stop: () => undefined };
  let bar: SingleBar | undefined;
  let current = '';
  const stop = (): void => {
    bar?.stop();
    bar = undefined;
  };
  return {
    onProgress: (p) => {
      const key = `${p.phase}:${p.file}`;
      if (bar === undefined || key !== current) {
        stop();
        current = key;
        bar = new SingleBar({
          format: `${p.phase === 'upload' ? 'upload  ' : 'download'} [{bar}] {percentage}% | {done} / {size} | {name}`,
          stream: process.stderr,
          hideCursor: true,
          fps: 5,
        });
        bar.start(p.total ?? 0, p.bytes, { name: p.file, done: formatBytes(p.bytes), size: p.total !== undefined ? formatBytes(p.total) : '?' });
      }
      if (p.total !== undefined && bar.getTotal() !== p.total) bar.setTotal(p.total);
      bar.update(p.bytes, { done: formatBytes(p.bytes), size: p.total !== undefined ? formatBytes(p.total) : '?' });
    },
    stop,
  };
}

/** A job without the service's raw object (which --json status prints in addition). */
function summary(job: FineTuneJob): Omit<FineTuneJob, 'raw'> {
  const { raw: _raw, ...rest } = job;
  return rest;
}

function eventLine(e: FineTuneEvent): string {
  return `${e.createdAt ?? ''}  ${e.level.padEnd(7)} ${e.type.padEnd(24)} ${e.message}`.trimStart();
}

function jobLines(job: FineTuneJob): string {
  const lines = [
    `job:      ${job.id}`,
    `status:   ${job.status} (${job.state})`,
    `model:    ${job.model ?? '?'}`,
  ];
  if (job.outputModel) lines.push(`output:   ${job.outputModel}`);
  if (job.trainingFile) lines.push(`training: ${job.trainingFile}${job.validationFile ? `, validation: ${job.validationFile}` : ''}`);
  if (job.createdAt) lines.push(`created:  ${job.createdAt}`);
  if (job.error) lines.push(`error:    ${job.error}`);
  return lines.join('\n');
}

/** The job id of the commands on one job. */
function jobArgument<T>(y: Argv<T>, describe = 'job id') {
  return y.positional('job', { type: 'string', demandOption: true, describe });
}

function pollOption<T>(y: Argv<T>) {
  return y
    .option('poll-interval', { type: 'number', default: 30, describe: 'seconds between status polls' })
    .option('max-wait', { type: 'number', default: DEFAULT_WAIT_DEADLINE_MS / 1000, describe: 'give up waiting for the job after this many seconds (exit 7; the job goes on)' });
}

function pollMs(v: number): number {
  if (!(Number.isFinite(v) && v > 0)) throw new InputError(`--poll-interval must be a positive number of seconds, got ${String(v)}`);
  return v * 1000;
}

/** --poll-interval and --max-wait as waitForJob options. */
function pollTiming(args: { 'poll-interval': number; 'max-wait'?: number }): { intervalMs: number; deadlineMs: number } {
  const maxWait = args['max-wait'] ?? DEFAULT_WAIT_DEADLINE_MS / 1000;
  if (!(Number.isFinite(maxWait) && maxWait > 0)) throw new InputError(`--max-wait must be a positive number of seconds, got ${String(maxWait)}`);
  return { intervalMs: pollMs(args['poll-interval']), deadlineMs: maxWait * 1000 };
}

/** Polls to the end, logging state changes and events on stderr. Throws JobFailedError if it fails. */
function follow(client: HostedFineTuneClient, id: string, args: GlobalOptions & { 'poll-interval': number; 'max-wait'?: number }, signal: AbortSignal): Promise<FineTuneJob> {
  let last = '';
  return waitForJob(client, id, {
    ...pollTiming(args),
    signal,
    onEvent: (e) => log(args, eventLine(e)),
    onUpdate: (j) => {
      if (j.status !== last) log(args, `job ${j.id}: ${j.status}`);
      last = j.status;
    },
  });
}

function downloadOptions<T>(y: Argv<T>) {
  return y
    .option('output', { alias: 'o', type: 'string', describe: 'file to write (default: a name from the job, in --dir)' })
    .option('dir', { type: 'string', default: '.', describe: 'directory for the default file name' })
    .option('checkpoint', { type: 'string', describe: 'Together: merged (LoRA default), adapter, or model_output_path (full training)' })
    .option('step', { type: 'number', describe: 'an intermediate checkpoint by training step' })
    .option('sha256', { type: 'string', describe: 'expected SHA-256 of the archive; the download fails if it differs' })
    .option('gguf', { type: 'string', describe: 'then convert the checkpoint to this GGUF file (an adapter needs --base: its base GGUF)' })
    .option('type', { choices: CONVERT_TYPES, describe: '--gguf: storage type of the converted weights (default f16 for models, f32 for adapters)' })
    .option('base', { type: 'string', describe: '--gguf of an adapter checkpoint: the base model GGUF' });
}

interface DownloadArgs extends GlobalOptions {
  output?: string | undefined;
  dir: string;
  checkpoint?: string | undefined;
  step?: number | undefined;
  sha256?: string | undefined;
  gguf?: string | undefined;
  type?: string | undefined;
  base?: string | undefined;
}

async function runDownload(
  client: HostedFineTuneClient,
  id: string,
  args: DownloadArgs,
  signal: AbortSignal,
): Promise<DownloadResult & { gguf?: ConvertCheckpointResult }> {
  if (args.gguf !== undefined && args.gguf === '') throw new InputError('--gguf needs a file name');
  if (args.sha256 !== undefined && !/^[0-9a-fA-F]{64}$/.test(args.sha256)) throw new InputError('--sha256 must be 64 hex digits');
  if (args.step !== undefined && !(Number.isInteger(args.step) && args.step >= 0)) throw new InputError('--step must be a non-negative integer');
  const bars = transferBars(args);
  try {
    const res = await client.downloadCheckpoint(id, {
      dir: args.dir,
      ...(args.output !== undefined ? { output: args.output } : {}),
      ...(args.checkpoint !== undefined ? { checkpoint: args.checkpoint } : {}),
      ...(args.step !== undefined ? { step: args.step } : {}),
      ...(args.sha256 !== undefined ? { sha256: args.sha256 } : {}),
      onProgress: bars.onProgress,
      signal,
    });
    bars.stop();
    log(args, `downloaded ${res.path} (${formatBytes(res.bytes)}, sha256 ${res.sha256}${res.resumedFrom > 0 ? `, resumed at ${formatBytes(res.resumedFrom)}` : ''})`);
    // The archive stays where it is: a failed conversion can be rerun with `model convert`.
    if (args.gguf !== undefined) return { ...res, gguf: await runConversion(args, res.path, args.gguf) };
    return res;
  } catch (err) {
    bars.stop();
    if (err instanceof CancelledError) throw new CancelledError('download interrupted; run the same command again to resume from the .part file');
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// submit

function submitBuilder(y: Argv<GlobalOptions>) {
  return pollOption(downloadOptions(hostedOptions(y)))
    .positional('training-file', { type: 'string', demandOption: true, describe: 'training data, JSONL (e.g. from `data training`)' })
    .option('validation-file', { type: 'string', describe: 'validation data, JSONL' })
    .option('model', { alias: 'm', type: 'string', demandOption: true, describe: 'base model name, as the service names it' })
    .option('epochs', { type: 'number', describe: 'training epochs' })
    .option('learning-rate', { type: 'number', describe: 'Together: learning rate' })
    .option('lr-multiplier', { type: 'number', describe: 'OpenAI: learning-rate multiplier' })
    .option('batch-size', { type: 'string', describe: 'a number, or max (Together) / auto (OpenAI)' })
    .option('suffix', { type: 'string', describe: 'added to the output model name (Together: at most 40 characters)' })
    .option('seed', { type: 'number', describe: 'random seed' })
    .option('n-checkpoints', { type: 'number', describe: 'Together: checkpoints to keep' })
    .option('n-evals', { type: 'number', describe: 'Together: evaluations on the validation file' })
    .option('warmup-ratio', { type: 'number', describe: 'Together: warm-up fraction of the schedule' })
    .option('full', { type: 'boolean', default: false, describe: 'Together: full-parameter training instead of LoRA' })
    .option('lora-r', { type: 'number', describe: 'Together: LoRA rank (default 16)' })
    .option('lora-alpha', { type: 'number', describe: 'Together: LoRA alpha (default 2 x rank)' })
    .option('lora-dropout', { type: 'number', describe: 'Together: LoRA dropout (default 0)' })
    .option('param', { type: 'string', array: true, describe: 'extra body field KEY=VALUE (VALUE parsed as JSON if it can be)' })
    .option('wait', { type: 'boolean', default: false, describe: 'poll the job until it ends, showing its events' })
    .option('download', { type: 'boolean', default: false, describe: 'after a successful --wait, download the checkpoint (implies --wait)' })
    .example('$0 finetune submit train.jsonl --validation-file valid.jsonl -m meta-llama/Meta-Llama-3.1-8B-Reference --epochs 3 --suffix nlsy79', 'LoRA fine-tune on Together AI; prints the job id')
    .example('$0 finetune submit train.jsonl -m meta-llama/Meta-Llama-3.1-8B-Reference --download --dir checkpoints/', 'submit, follow to the end, download the merged model')
    .example('$0 finetune submit chat.jsonl --provider openai -m gpt-4o-mini-2024-07-18 --wait', 'OpenAI-style service, chat-format data');
}

type SubmitArgs = ArgsOf<typeof submitBuilder>;

function jobParams(args: SubmitArgs, trainingFile: string, validationFile: string | undefined): CreateJobParams {
  const p: CreateJobParams = { model: args.model, trainingFile };
  if (validationFile !== undefined) p.validationFile = validationFile;
  if (args.epochs !== undefined) p.epochs = args.epochs;
  if (args['learning-rate'] !== undefined) p.learningRate = args['learning-rate'];
  if (args['lr-multiplier'] !== undefined) p.learningRateMultiplier = args['lr-multiplier'];
  if (args['batch-size'] !== undefined) {
    const b = args['batch-size'];
    if (b === 'max' || b === 'auto') p.batchSize = b;
    else if (/^\d+$/.test(b)) p.batchSize = Number(b);
    else throw new InputError(`--batch-size must be a positive integer, max or auto, got "${b}"`);
  }
  if (args.suffix !== undefined) p.suffix = args.suffix;
  if (args.seed !== undefined) p.seed = args.seed;
  if (args['n-checkpoints'] !== undefined) p.nCheckpoints = args['n-checkpoints'];
  if (args['n-evals'] !== undefined) p.nEvals = args['n-evals'];
  if (args['warmup-ratio'] !== undefined) p.warmupRatio = args['warmup-ratio'];
  if (args.full) {
    if (args['lora-r'] !== undefined || args['lora-alpha'] !== undefined || args['lora-dropout'] !== undefined) throw new InputError('--full and --lora-* exclude each other');
    p.training = { type: 'full' };
  } else if (args['lora-r'] !== undefined || args['lora-alpha'] !== undefined || args['lora-dropout'] !== undefined) {
    p.training = { type: 'lora' };
    if (args['lora-r'] !== undefined) p.training.r = args['lora-r'];
    if (args['lora-alpha'] !== undefined) p.training.alpha = args['lora-alpha'];
    if (args['lora-dropout'] !== undefined) p.training.dropout = args['lora-dropout'];
  }
  if (args.param !== undefined && args.param.length > 0) {
    p.extra = {};
    for (const kv of args.param) {
      const i = kv.indexOf('=');
      if (i <= 0) throw new InputError(`--param must be KEY=VALUE, got "${kv}"`);
      const raw = kv.slice(i + 1);
      let value: unknown = raw;
      try {
        value = JSON.parse(raw);
      } catch {
        // not JSON: a plain string
      }
      p.extra[kv.slice(0, i)] = value;
    }
  }
  return p;
}

const submitCommand: CommandModule<GlobalOptions, SubmitArgs> = {
  command: 'submit <training-file>',
  describe: 'validate and upload JSONL, then start a hosted fine-tuning job',
  builder: submitBuilder,
  handler: async (args) => {
    const client = clientFrom(args);
    const provider = client.provider;
    // Check everything locally before the first byte leaves: the files and the parameters.
    const checked: JsonlSummary[] = [await validateTrainingJsonl(args['training-file'], { provider })];
    if (args['validation-file'] !== undefined) checked.push(await validateTrainingJsonl(args['validation-file'], { provider }));
    checkJobParams(provider, jobParams(args, 'file-to-upload', args['validation-file'] !== undefined ? 'file-to-upload' : undefined));
    for (const c of checked) log(args, `${c.file}: ${c.lines} examples, format ${c.format}, ${formatBytes(c.bytes)}`);

    await withInterrupt(async (signal) => {
      const bars = transferBars(args);
      let train;
      let valid;
      try {
        train = await client.uploadFile(args['training-file'], { onProgress: bars.onProgress, signal, validate: false });
        bars.stop();
        log(args, `uploaded ${args['training-file']} as ${train.id}`);
        if (args['validation-file'] !== undefined) {
          valid = await client.uploadFile(args['validation-file'], { onProgress: bars.onProgress, signal, validate: false });
          bars.stop();
          log(args, `uploaded ${args['validation-file']} as ${valid.id}`);
        }
      } finally {
        bars.stop();
      }
      const job = await client.createJob(jobParams(args, train.id, valid?.id), { signal });
      log(args, `created job ${job.id} (${job.status})`);
      const result: Record<string, unknown> = {
        command: 'finetune submit',
        provider,
        baseUrl: client.baseUrl,
        files: {
          training: { path: args['training-file'], id: train.id, bytes: train.bytes, lines: checked[0]?.lines },
          ...(valid ? { validation: { path: args['validation-file'], id: valid.id, bytes: valid.bytes, lines: checked[1]?.lines } } : {}),
        },
        job: summary(job),
      };
      if (args.wait || args.download) {
        const final = await follow(client, job.id, args, signal);
        result.final = summary(final);
        if (args.download && final.state === 'completed') result.download = await runDownload(client, job.id, args, signal);
      }
      if (args.json) printJson(result);
      else {
        process.stdout.write(`${job.id}\n`);
        if (!args.wait && !args.download) log(args, `follow it with: labor-llm finetune status ${job.id} --wait${provider !== 'together' ? ` --provider ${provider}` : ''}`);
      }
    });
  },
};

// ---------------------------------------------------------------------------------------------
// status, events, cancel, list, download

function statusBuilder(y: Argv<GlobalOptions>) {
  return jobArgument(pollOption(hostedOptions(y)))
    .option('wait', { type: 'boolean', default: false, describe: 'poll until the job ends (events on stderr)' })
    .example('$0 finetune status ft-5e1f0a9c-7b2d-4c3e-9a8b-1d2e3f4a5b6c', 'current state')
    .example('$0 finetune status ft-5e1f0a9c-7b2d-4c3e-9a8b-1d2e3f4a5b6c --wait --poll-interval 60 --json', 'wait for the end, then print the job as JSON');
}

const statusCommand: CommandModule<GlobalOptions, ArgsOf<typeof statusBuilder>> = {
  command: 'status <job>',
  describe: "a job's state; --wait follows it to the end",
  builder: statusBuilder,
  handler: async (args) => {
    const client = clientFrom(args);
    const job = await withInterrupt((signal) => (args.wait ? follow(client, args.job, args, signal) : client.getJob(args.job, { signal })));
    if (args.json) printJson({ command: 'finetune status', provider: client.provider, job: summary(job), raw: job.raw });
    else process.stdout.write(`${jobLines(job)}\n`);
  },
};

function eventsBuilder(y: Argv<GlobalOptions>) {
  return jobArgument(pollOption(hostedOptions(y)))
    .option('follow', { alias: 'f', type: 'boolean', default: false, describe: 'keep printing new events until the job ends' })
    .example('$0 finetune events ft-5e1f0a9c-7b2d-4c3e-9a8b-1d2e3f4a5b6c', 'events so far, oldest first')
    .example('$0 finetune events ftjob-abc123 --provider openai --follow', 'stream events until the job ends');
}

const eventsCommand: CommandModule<GlobalOptions, ArgsOf<typeof eventsBuilder>> = {
  command: 'events <job>',
  describe: "a job's events (training progress, errors); --follow streams them",
  builder: eventsBuilder,
  handler: async (args) => {
    const client = clientFrom(args);
    const events: FineTuneEvent[] = [];
    const print = (e: FineTuneEvent): void => {
      events.push(e);
      if (!args.json) process.stdout.write(`${eventLine(e)}\n`);
    };
    let final: FineTuneJob | undefined;
    await withInterrupt(async (signal) => {
      if (!args.follow) {
        for (const e of await client.listEvents(args.job, { signal })) print(e);
        return;
      }
      final = await waitForJob(client, args.job, { ...pollTiming(args), signal, onEvent: print, throwOnFailure: false });
    });
    if (args.json) {
      printJson({
        command: 'finetune events',
        job: args.job,
        events: events.map(({ raw: _r, ...e }) => e),
        ...(final ? { final: summary(final) } : {}),
      });
    }
  },
};

function cancelBuilder(y: Argv<GlobalOptions>) {
  return jobArgument(hostedOptions(y))
    .example('$0 finetune cancel ft-5e1f0a9c-7b2d-4c3e-9a8b-1d2e3f4a5b6c', 'request cancellation (Together: cancel_requested, then cancelled)');
}

const cancelCommand: CommandModule<GlobalOptions, ArgsOf<typeof cancelBuilder>> = {
  command: 'cancel <job>',
  describe: 'ask the service to stop a job',
  builder: cancelBuilder,
  handler: async (args) => {
    const client = clientFrom(args);
    const job = await client.cancelJob(args.job);
    if (args.json) printJson({ command: 'finetune cancel', provider: client.provider, job: summary(job) });
    else process.stdout.write(`${job.id}: ${job.status}\n`);
  },
};

function listBuilder(y: Argv<GlobalOptions>) {
  return hostedOptions(y)
    .option('limit', { type: 'number', default: 50, describe: 'at most this many jobs, newest first' })
    .example('$0 finetune list', 'recent jobs on Together AI')
    .example('$0 finetune list --provider openai --limit 5 --json', 'the five newest OpenAI-style jobs as JSON');
}

const listCommand: CommandModule<GlobalOptions, ArgsOf<typeof listBuilder>> = {
  command: 'list',
  describe: "the account's fine-tuning jobs, newest first",
  builder: listBuilder,
  handler: async (args) => {
    if (!(Number.isInteger(args.limit) && args.limit > 0)) throw new InputError(`--limit must be a positive integer, got ${String(args.limit)}`);
    const client = clientFrom(args);
    const jobs = await client.listJobs({ limit: args.limit });
    if (args.json) {
      printJson({ command: 'finetune list', provider: client.provider, jobs: jobs.map(summary) });
      return;
    }
    for (const j of jobs) process.stdout.write(`${j.id}  ${j.status.padEnd(16)} ${j.createdAt ?? ''}  ${j.model ?? ''}  ${j.outputModel ?? ''}\n`);
    if (jobs.length === 0) log(args, 'no jobs');
  },
};

function downloadBuilder(y: Argv<GlobalOptions>) {
  return jobArgument(downloadOptions(hostedOptions(y)), 'job id of a completed job')
    .example('$0 finetune download ft-5e1f0a9c-7b2d-4c3e-9a8b-1d2e3f4a5b6c --dir checkpoints/', 'the merged model as <output name>.tar.zst')
    .example('$0 finetune download ft-5e1f0a9c-7b2d-4c3e-9a8b-1d2e3f4a5b6c --checkpoint adapter -o adapter.tar.zst', 'LoRA adapter only; rerun to resume if cut')
    .example('$0 finetune download ft-... --checkpoint adapter --gguf ft.lora.gguf --base llama-3.1-8b.gguf', 'the adapter, converted for --lora');
}

const downloadCommand: CommandModule<GlobalOptions, ArgsOf<typeof downloadBuilder>> = {
  command: 'download <job>',
  describe: "download a completed job's checkpoint (Together), resuming interrupted transfers",
  builder: downloadBuilder,
  handler: async (args) => {
    const client = clientFrom(args);
    const res = await withInterrupt((signal) => runDownload(client, args.job, args, signal));
    if (args.json) printJson({ command: 'finetune download', provider: client.provider, job: args.job, ...res });
    else process.stdout.write(`${res.gguf?.path ?? res.path}\n`);
  },
};

// ---------------------------------------------------------------------------------------------
// fake-server

function fakeBuilder(y: Argv<GlobalOptions>) {
  return y
    .option('port', { type: 'number', default: 0, describe: 'port on 127.0.0.1 (0: any free port)' })
    .option('provider', { type: 'string', choices: PROVIDERS, default: 'together' as Provider, describe: 'which API to imitate' })
    .option('api-key', { type: 'string', default: 'fake-key', describe: 'the key the fake accepts (not a secret)' })
    .option('polls-per-step', { type: 'number', describe: 'advance a job one status every N polls instead of by time' })
    .option('scenario', { type: 'string', describe: 'job timeline as JSON, e.g. {"runningMs":10000,"outcome":"error","errorMessage":"boom"}' })
    .example('$0 finetune fake-server --port 8787', 'then: TOGETHER_BASE_URL=http://127.0.0.1:8787/v1 TOGETHER_API_KEY=fake-key labor-llm finetune submit ...')
    .example(`$0 finetune fake-server --scenario '{"outcome":"error","errorMessage":"out of memory"}'`, 'every job fails with that message');
}

const fakeServerCommand: CommandModule<GlobalOptions, ArgsOf<typeof fakeBuilder>> = {
  command: 'fake-server',
  describe: 'run the offline fake fine-tuning service on 127.0.0.1 until interrupted',
  builder: fakeBuilder,
  handler: async (args) => {
    const provider = oneOf('provider', args.provider, PROVIDERS);
    if (!(Number.isInteger(args.port) && args.port >= 0 && args.port < 65536)) throw new InputError(`--port must be 0-65535, got ${String(args.port)}`);
    let scenario: Partial<FakeJobScenario> = {};
    if (args.scenario !== undefined) {
      try {
        scenario = JSON.parse(args.scenario) as Partial<FakeJobScenario>;
      } catch (err) {
        throw new InputError(`--scenario is not valid JSON: ${(err as Error).message}`);
      }
    }
    if (args['polls-per-step'] !== undefined) scenario.advanceEveryNPolls = args['polls-per-step'];
    const server = await startFakeServer({ profile: provider, port: args.port, apiKey: args['api-key'], scenario });
    if (args.json) printJson({ command: 'finetune fake-server', provider, baseUrl: server.baseUrl, apiKey: server.apiKey, port: server.port });
    else {
      process.stdout.write(`fake ${provider} fine-tuning service on ${server.baseUrl}\n`);
      process.stdout.write(`  export ${BASE_URL_ENV[provider]}=${server.baseUrl} ${API_KEY_ENV[provider]}=${server.apiKey}\n`);
      log(args, 'control routes: POST /__fake/faults, POST /__fake/clock/advance, POST /__fake/scenario, GET /__fake/requests; Ctrl-C stops');
    }
    await untilInterrupted();
    await server.close();
  },
};

// ---------------------------------------------------------------------------------------------

/** The subcommands of `finetune`; append to add more (e.g. `local`). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each subcommand types its own arguments
export const finetuneSubcommands: CommandModule<GlobalOptions, any>[] = [
  submitCommand,
  statusCommand,
  eventsCommand,
  cancelCommand,
  downloadCommand,
  listCommand,
  fakeServerCommand,
  finetuneLocalCommand,
];

export const finetuneCommand: CommandModule<object, GlobalOptions> = {
  command: 'finetune <command>',
  describe: 'fine-tune models: hosted jobs (Together AI, OpenAI-style: submit, status, events, cancel, download, list) or local (finetune local)',
  builder: (y: Argv<object>) => {
    let b = y as Argv<GlobalOptions>;
    for (const c of finetuneSubcommands) b = b.command(c);
    return b
      .demandCommand(1, `name a finetune subcommand: ${finetuneSubcommands.map((c) => String(c.command).split(' ')[0]).join(', ')}`)
      .example('$0 data training panels/nlsy79 --format together --out train.jsonl', 'make a training file')
      .example('$0 finetune submit train.jsonl -m meta-llama/Meta-Llama-3.1-8B-Reference --download', 'fine-tune on Together AI and download the result')
      .epilog(`API keys are read from ${API_KEY_ENV.together} / ${API_KEY_ENV.openai} and never printed. See docs/finetune.md.`);
  },
  handler: () => undefined,
};
