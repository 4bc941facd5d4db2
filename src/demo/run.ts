/**
 * `labor-llm demo`: the whole method on a laptop, with nothing to download.
 *
 *   1. a synthetic panel (its true transition probabilities are known: the oracle), split 70/10/20;
 *   2. the training texts: every train/valid worker's resume under the `resume` template, and a glossary
 *      of the titles (what a pretrained model would know of their spelling);
 *   3. a tiny llama model with random weights and a BPE vocabulary of its own, learned from the
 *      training texts (a few hundred tokens: titles are a few tokens, the output layer is small);
 *   4. training of every weight of that model on the training texts (the best epoch by validation loss);
 *   5. evaluation on the test split, every title's probability for every transition, of the fine-tuned
 *      and the untrained model and of the baselines (oracle, empirical transitions, multinomial logit,
 *      uniform), all into one results store;
 *   6. the report from that store: JSON data, Markdown tables and the HTML page with plots.
 *
 * Every number in the report comes from this run's store; nothing is fixed in advance.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { CancelledError, InputError, ParameterError } from '../errors.js';
import { trainCareer } from '../baselines/career/index.js';
import { BaselineScorer, CareerScorer, evaluate, type EvalProgress, ModelScorer, type Scorer } from '../eval/index.js';
import { finetuneLocal, type LocalFinetuneResult } from '../models/finetune/local/index.js';
import { learnBpe, writeTinyLlama } from '../models/gguf/index.js';
import { completeSplits, writePanelDir } from '../data/io/index.js';
import { buildReport } from '../report/build.js';
import type { RunKind } from '../results/types.js';
import { sampleWorkersFromStores, writeHtmlReport } from '../report/html/index.js';
import { renderMarkdown } from '../report/markdown.js';
import type { Report } from '../report/types.js';
import { synthesizePanel } from '../data/synth/index.js';
import { loadTaxonomy } from '../data/taxonomy/taxonomy.js';
import { getTemplate } from '../data/template/index.js';
import { titleGlossary, trainingExamples, writeTrainingFile } from '../data/training/index.js';
import { DEMO_MODEL, resolveDemoOptions, type DemoOptions, type ResolvedDemoOptions } from './options.js';

/** One step's progress display (src/cli/progress.ts's Progress fits). */
export interface DemoProgressStep {
  update(done: number, total?: number): void;
  done(summary?: string): void;
}

export interface DemoProgress {
  step(label: string, total: number, unit?: string): DemoProgressStep;
  log(message: string): void;
}

export interface DemoHooks {
  progress?: DemoProgress;
  signal?: AbortSignal;
}

/** What the demo writes, relative to its --out folder. */
export const DEMO_FILES = {
  panel: 'panel',
  trainText: 'training/train.txt',
  validText: 'training/valid.txt',
  baseModel: 'models/tiny-untrained.gguf',
  finetunedModel: 'models/tiny-finetuned.gguf',
  careerModel: 'models/career.gguf',
  results: 'results.duckdb',
  reportJson: 'report.json',
  reportMarkdown: 'report.md',
  reportHtml: 'report.html',
  summary: 'demo.json',
} as const;

export type DemoFiles = { [K in keyof typeof DEMO_FILES]: string };

/** Run names in the results store, in report order (the fine-tuned model is the reference). */
export const DEMO_RUNS = ['tiny-finetuned', 'tiny-untrained', 'career', 'oracle', 'empirical', 'logit', 'uniform'] as const;

/**
 * The demo's CAREER baseline (docs/career.md): smaller than CAREER's published size so that it trains
 * in about a minute on one core.
 */
export const DEMO_CAREER = { layers: 2, width: 64, heads: 2, ff: 256, epochs: 6, batch: 16, learningRate: 2e-3 } as const;

export interface DemoRunSummary {
  run: string;
  kind: RunKind;
  perplexity: number;
  se: number;
  transitions: number;
  workers: number;
}

export interface DemoResult {
  options: ResolvedDemoOptions;
  files: DemoFiles;
  panel: { workers: number; records: number; splits: Record<'train' | 'valid' | 'test', number> };
  training: Pick<
    LocalFinetuneResult,
    'bestEpoch' | 'bestValLoss' | 'initialValLoss' | 'history' | 'trainTokens' | 'validTokens' | 'trainWindows' | 'seconds'
  > & { glossaryDocuments: number };
  /** Test perplexity of every run (the report's pooled column), in DEMO_RUNS order. */
  runs: DemoRunSummary[];
  steps: { step: string; seconds: number }[];
  seconds: number;
}

/** Passes over the title list in the training texts (see src/data/training/glossary.ts). */
const GLOSSARY_COPIES = 2;


/** What the demo's LLM is, said wherever its numbers are shown. */
const STAND_IN_TEXT =
  `The language model is a small llama (${DEMO_MODEL.nLayer} layers, width ${DEMO_MODEL.nEmbd}) with a BPE vocabulary ` +
  'learned from the training resumes (most titles are one token), trained from random weights, every weight learning, ' +
  'for a few minutes on the training resumes and a glossary of the titles (which stands in for what a pretrained model ' +
  "knows of occupation names). It stands in for the paper's fine-tuned LLMs so that every step runs on a laptop; at " +
  'this size and training time it comes close to the first-order baselines but has not been measured to beat them (see ' +
  'docs/finetune-local.md for the measurements), so compare its row with care. CAREER, the oracle and the other baselines are scored on the same ' +
  'records. The same commands evaluate a real model (any llama.cpp GGUF) on the same test records:';

function standIn(files: DemoFiles, testWorkers: number): string {
  const limit = testWorkers > 0 ? ` --limit ${testWorkers}` : '';
  return (
    `${STAND_IN_TEXT} labor-llm eval --model your-model.gguf --data ${files.panel}${limit} --out ${files.results}, ` +
    `then labor-llm report ${files.results}.`
  );
}

const SILENT: DemoProgress = {
  step: () => ({ update: () => undefined, done: () => undefined }),
  log: () => undefined,
};

/** Refuses to mix with an earlier demo's outputs unless `force`, which removes exactly those. */
async function prepareOut(out: string, force: boolean): Promise<void> {
  const ours = Object.values(DEMO_FILES).map((f) => f.split('/')[0]!);
  const present = existsSync(out) ? (await readdir(out)).filter((f) => ours.includes(f) || f.startsWith(`${DEMO_FILES.results}.`)) : [];
  if (present.length > 0 && !force) {
    throw new InputError(
      `the folder already holds a demo's outputs (${present.slice(0, 4).join(', ')}${present.length > 4 ? ', ...' : ''}); ` +
        'pass --force to replace them, or choose another --out',
      { file: out },
    );
  }
  for (const f of present) await rm(join(out, f), { recursive: true, force: true });
  await mkdir(join(out, 'training'), { recursive: true });
  await mkdir(join(out, 'models'), { recursive: true });
}

function pooledColumn(report: Report): string {
  return report.datasets[report.datasets.length - 1]!;
}

function demoMarkdown(o: ResolvedDemoOptions, result: Omit<DemoResult, 'steps' | 'seconds'>): string {
  const files = result.files;
  const t = result.training;
  const lines = [
    '',
    '## About this demo',
    '',
    `A synthetic ${o.profile.toUpperCase()}-like panel of ${result.panel.workers} workers (seed ${o.seed}), split ` +
      `${result.panel.splits.train}/${result.panel.splits.valid}/${result.panel.splits.test} (train/valid/test). ` +
      `A small llama model (random weights, a BPE vocabulary learned from the training texts) was trained locally for ${o.epochs} epoch(s) on the ` +
      `training resumes and ${t.glossaryDocuments} title-glossary documents (${t.trainTokens} tokens); validation loss ${t.initialValLoss.toFixed(3)} before training, ` +
      `${t.bestValLoss.toFixed(3)} after (best epoch ${t.bestEpoch}), nats per token.`,
    '',
    `Evaluated on ${o.testWorkers > 0 ? `the first ${o.testWorkers} test workers` : 'every test worker'}: every title's ` +
      'probability for every transition. The oracle is the generator\'s own distribution: no model can beat it in expectation.',
    '',
    standIn(files, o.testWorkers),
    '',
    '| Epoch | Train loss | Validation loss | Validation accuracy | Seconds |',
    '| ---: | ---: | ---: | ---: | ---: |',
    ...t.history.map(
      (h) => `| ${h.epoch} | ${h.trainLoss.toFixed(3)} | ${h.valLoss.toFixed(3)} | ${(100 * h.valAccuracy).toFixed(1)}% | ${h.seconds.toFixed(1)} |`,
    ),
    '',
  ];
  return lines.join('\n');
}

/** Runs the demo; see the module comment. */
export async function runDemo(options: DemoOptions = {}, hooks: DemoHooks = {}): Promise<DemoResult> {
  const o = resolveDemoOptions(options);
  const progress = hooks.progress ?? SILENT;
  const signal = hooks.signal;
  const started = performance.now();
  const steps: DemoResult['steps'] = [];
  const out = resolve(o.out);
  const files = Object.fromEntries(Object.entries(DEMO_FILES).map(([k, f]) => [k, join(out, f)])) as DemoFiles;
  const checkCancel = () => {
    if (signal?.aborted) throw new CancelledError('the demo was cancelled');
  };
  const timed = async <T>(name: string, f: () => Promise<T>): Promise<T> => {
    checkCancel();
    const t0 = performance.now();
    const r = await f();
    steps.push({ step: name, seconds: (performance.now() - t0) / 1000 });
    return r;
  };

  await prepareOut(out, o.force);
  const taxonomy = loadTaxonomy('occ1990dd');
  const template = getTemplate('resume', { taxonomy });

  // 1. Panel.
  const panelInfo = await timed('panel', async () => {
    const step = progress.step('synthetic panel', 1, 'panel');
    const { panel } = synthesizePanel({ profile: o.profile, workers: o.workers, seed: o.seed, taxonomy });
    const { splits } = completeSplits(panel, new Map(), { seed: o.seed });
    const meta = await writePanelDir(files.panel, {
      panel,
      splits,
      taxonomy,
      source: { command: 'demo', profile: o.profile, workers: o.workers, seed: o.seed, splitSeed: o.seed },
    });
    for (const s of ['train', 'valid', 'test'] as const) {
      if (meta.splits[s] === 0) throw new ParameterError('workers', `the ${s} split of ${o.workers} workers is empty: use more \`workers\``);
    }
    step.done(`${meta.workers} workers, ${meta.records} worker-years`);
    const bySplit = (s: string) => panel.workers.filter((w) => splits.get(w.id) === s);
    return { meta, train: bySplit('train'), valid: bySplit('valid') };
  });

  // 2. Training texts.
  const texts = await timed('training texts', async () => {
    const step = progress.step('training texts', 2, 'files');
    const train = trainingExamples(panelInfo.train, template, 'resume');
    const valid = trainingExamples(panelInfo.valid, template, 'resume');
    const a = await writeTrainingFile(files.trainText, train, 'text');
    step.update(1);
    await writeTrainingFile(files.validText, valid, 'text');
    // The tiny model starts from random weights: the glossary teaches it how titles are spelled, as
    // pretraining does for a real LLM (src/data/training/glossary.ts). Validation stays resumes only.
    const glossary = titleGlossary(taxonomy, { copies: GLOSSARY_COPIES, seed: o.seed });
    step.done(`${a.examples} training resumes, ~${a.tokens} tokens, and ${glossary.length} title-glossary documents`);
    return {
      train: [...train.map((e) => e.prompt + e.completion), ...glossary],
      valid: valid.map((e) => e.prompt + e.completion),
      glossaryDocuments: glossary.length,
    };
  });

  // 3. Tiny model: a vocabulary of its own, random weights.
  await timed('tiny model', async () => {
    const step = progress.step('tiny model', 1, 'model');
    const bpe = learnBpe(texts.train, { merges: DEMO_MODEL.merges });
    const { nEmbd, nLayer, nHead, nFf } = DEMO_MODEL;
    const r = await writeTinyLlama({ vocab: bpe.tokenizer, seed: o.seed, out: files.baseModel, nEmbd, nLayer, nHead, nFf });
    step.done(`${r.parameterCount.toLocaleString('en-US')} parameters, ${bpe.tokenizer.nVocab} tokens`);
  });

  // 4. Fine-tuning. The step's total is known once the first windows of each phase are reported.
  const training = await timed('fine-tuning', async () => {
    const step = progress.step(`fine-tuning (${o.epochs} epochs)`, 0, 'windows');
    let trainWindows = 0;
    let validWindows = 0;
    let finished = 0;
    const total = () => o.epochs * trainWindows + (o.epochs + 1) * validWindows;
    const r = await finetuneLocal({
      model: files.baseModel,
      trainTexts: texts.train,
      validTexts: texts.valid,
      out: files.finetunedModel,
      epochs: o.epochs,
      learningRate: o.learningRate,
      contextLength: DEMO_MODEL.contextLength,
      seed: o.seed,
      // One thread unless told otherwise: bit-identical reruns, and on a busy machine ggml's threads
      // wait for each other at every op (measured: docs/finetune-local.md).
      threads: o.threads ?? 1,
      signal,
      onProgress: (p) => {
        if (p.phase === 'epoch') return;
        if (p.phase === 'train') trainWindows = p.windows;
        else validWindows = p.windows;
        // Windows of passes already finished, plus this pass's.
        const before = p.phase === 'train' ? (p.epoch - 1) * trainWindows + p.epoch * validWindows : p.epoch * (trainWindows + validWindows);
        finished = before + p.window;
        step.update(finished, Math.max(total(), finished));
      },
    });
    step.done(`validation loss ${r.initialValLoss.toFixed(2)} -> ${r.bestValLoss.toFixed(2)} (epoch ${r.bestEpoch})`);
    return r;
  });

  // 4b. CAREER, trained on the same train split, best epoch on the valid split.
  await timed('career', async () => {
    const step = progress.step(`CAREER (${DEMO_CAREER.epochs} epochs)`, 0, 'steps');
    const r = await trainCareer({
      taxonomy,
      train: panelInfo.train,
      valid: panelInfo.valid,
      out: files.careerModel,
      ...DEMO_CAREER,
      seed: o.seed,
      threads: o.threads ?? 1,
      source: files.panel,
      signal,
    });
    step.done(`validation loss ${r.bestValLoss.toFixed(3)} (epoch ${r.bestEpoch})`);
  });

  // 5. Evaluation: one store, every run on the same test transitions.
  const specs: { name: (typeof DEMO_RUNS)[number]; scorer: Scorer }[] = [
    { name: 'tiny-finetuned', scorer: new ModelScorer({ model: files.finetunedModel, template: 'resume', mode: 'distribution', engine: { threads: o.threads } }) },
    { name: 'tiny-untrained', scorer: new ModelScorer({ model: files.baseModel, template: 'resume', mode: 'distribution', engine: { threads: o.threads } }) },
    { name: 'career', scorer: new CareerScorer({ model: files.careerModel, ...(o.threads !== undefined ? { threads: o.threads } : {}) }) },
    { name: 'oracle', scorer: new BaselineScorer('oracle') },
    { name: 'empirical', scorer: new BaselineScorer('empirical') },
    { name: 'logit', scorer: new BaselineScorer('logit') },
    { name: 'uniform', scorer: new BaselineScorer('uniform') },
  ];
  for (const s of specs) {
    await timed(`evaluate ${s.name}`, async () => {
      const step = progress.step(`evaluating ${s.name}`, 0, 'transitions');
      const r = await evaluate(
        {
          data: files.panel,
          out: files.results,
          scorer: s.scorer,
          name: s.name,
          split: 'test',
          limit: o.testWorkers > 0 ? o.testWorkers : undefined,
        },
        { signal, onProgress: (p: EvalProgress) => step.update(p.transitionsDone, p.transitionsTotal) },
      );
      step.done(`${r.transitions.total} transitions in ${r.seconds.toFixed(1)}s`);
    });
  }

  // 6. Report.
  const report = await timed('report', async () => {
    const step = progress.step('report', 3, 'files');
    // Raw perplexity, the paper's and the report's default: every token of the title and its newline
    // counts, so mass a model puts on text that is no title counts against it. The normalized one is beside it.
    const rep = await buildReport([files.results], { B: o.bootstrap, seed: o.seed, reference: 'tiny-finetuned', variant: 'raw' });
    await writeFile(files.reportJson, `${JSON.stringify(rep, null, 2)}\n`);
    step.update(1);
    return { rep, step };
  });

  const pooled = pooledColumn(report.rep);
  const runs: DemoRunSummary[] = DEMO_RUNS.flatMap((name) => {
    const c = report.rep.perplexity.find((x) => x.run === name && x.dataset === pooled);
    const run = report.rep.runs.find((r) => r.name === name);
    if (!c || !run) return [];
    return [{ run: name, kind: run.kind, perplexity: c.perplexity.estimate, se: c.perplexity.se, transitions: c.perplexity.transitions, workers: c.perplexity.workers }];
  });
  const partial = {
    options: o,
    files,
    panel: { workers: panelInfo.meta.workers, records: panelInfo.meta.records, splits: panelInfo.meta.splits },
    training: {
      bestEpoch: training.bestEpoch,
      bestValLoss: training.bestValLoss,
      initialValLoss: training.initialValLoss,
      history: training.history,
      trainTokens: training.trainTokens,
      validTokens: training.validTokens,
      trainWindows: training.trainWindows,
      seconds: training.seconds,
      glossaryDocuments: texts.glossaryDocuments,
    },
    runs,
  };
  await timed('report files', async () => {
    await writeFile(files.reportMarkdown, renderMarkdown(report.rep) + demoMarkdown(o, partial));
    report.step.update(2);
    const samples = await sampleWorkersFromStores(report.rep, { count: 3, runs: ['tiny-finetuned', 'tiny-untrained', 'oracle'], topK: 8 });
    const t = training;
    await writeHtmlReport(report.rep, files.reportHtml, {
      title: 'labor-llm demo report',
      intro: [
        `A synthetic ${o.profile.toUpperCase()}-like panel of ${o.workers} workers; a tiny llama model fine-tuned locally for ` +
          `${o.epochs} epoch(s) on its training resumes (validation loss ${t.initialValLoss.toFixed(2)} -> ${t.bestValLoss.toFixed(2)} ` +
          `nats per token), evaluated with the untrained model and four baselines on the same test transitions.`,
        'The oracle is the generator\'s own distribution: the floor no model can beat in expectation. The uniform model ' +
          'puts the same probability on every title.',
        standIn(files, o.testWorkers),
      ],
      facts: [
        { label: 'panel', value: `${o.profile}, ${o.workers} workers, seed ${o.seed} (${files.panel})` },
        { label: 'test workers', value: o.testWorkers > 0 ? `the first ${o.testWorkers} of the test split` : 'the whole test split' },
        { label: 'fine-tuning', value: `${o.epochs} epochs, learning rate ${o.learningRate}, best epoch ${t.bestEpoch}` },
        { label: 'results store', value: files.results },
        { label: 'bootstrap', value: `B = ${o.bootstrap}, seed ${o.seed}` },
      ],
      samples,
    });
    report.step.done(`${files.reportHtml}`);
  });

  const result: DemoResult = { ...partial, steps, seconds: (performance.now() - started) / 1000 };
  await writeFile(files.summary, `${JSON.stringify(result, null, 2)}\n`);
  return result;
}
