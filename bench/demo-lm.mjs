#!/usr/bin/env node
// The demo's language model with its knobs: the demo's panel, training texts, vocabulary and model
// (src/demo/run.ts), trained with finetuneLocal, then it and the empirical, logit and oracle baselines
// scored on the first --limit test workers (0: all) and compared in one report (raw perplexity,
// paired bootstrap). Prints one JSON line. Defaults: the demo's (src/demo/options.ts).
//
//   node bench/demo-lm.mjs --out /tmp/demo-lm/x [--workers 5000] [--seed 1] [--merges 5000]
//     [--epochs 3] [--lr 2e-3] [--decay cosine] [--warmup 0.05] [--min-lr 0.1] [--limit 300]
//   node bench/demo-lm.mjs --out /tmp/demo-lm/x --eval-only --limit 0   # score the trained model again
//
// Run `npx tsc -p tsconfig.build.json` first (it imports dist/).
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const dist = (p) => import(join(resolve('.'), 'dist', p));
const { DEMO_DEFAULTS, DEMO_MODEL, DEMO_SCHEDULE } = await dist('demo/options.js');
const { values: v } = parseArgs({
  options: {
    out: { type: 'string' },
    workers: { type: 'string', default: String(DEMO_DEFAULTS.workers) },
    seed: { type: 'string', default: String(DEMO_DEFAULTS.seed) },
    merges: { type: 'string', default: String(DEMO_MODEL.merges) },
    epochs: { type: 'string', default: String(DEMO_DEFAULTS.epochs) },
    lr: { type: 'string', default: String(DEMO_DEFAULTS.learningRate) },
    decay: { type: 'string', default: DEMO_SCHEDULE.lrDecay },
    warmup: { type: 'string', default: String(DEMO_SCHEDULE.warmupRatio) },
    'min-lr': { type: 'string', default: String(DEMO_SCHEDULE.minLrRatio) },
    limit: { type: 'string', default: String(DEMO_DEFAULTS.testWorkers) },
    'eval-only': { type: 'boolean', default: false },
  },
});
if (!v.out) throw new Error('--out FOLDER is required');
const { synthesizePanel } = await dist('data/synth/index.js');
const { completeSplits, writePanelDir } = await dist('data/io/index.js');
const { loadTaxonomy } = await dist('data/taxonomy/taxonomy.js');
const { getTemplate } = await dist('data/template/index.js');
const { titleGlossary, trainingExamples } = await dist('data/training/index.js');
const { learnBpe, writeTinyLlama } = await dist('models/gguf/index.js');
const { finetuneLocal } = await dist('models/finetune/local/index.js');
const { evaluate, ModelScorer, BaselineScorer } = await dist('eval/index.js');
const { buildReport } = await dist('report/build.js');

const workers = Number(v.workers);
const seed = Number(v.seed);
const limit = Number(v.limit);
const out = resolve(v.out);
const base = join(out, 'base.gguf');
const tuned = join(out, 'tuned.gguf');
const panelDir = join(out, 'panel');
if (!v['eval-only']) rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const taxonomy = loadTaxonomy('occ1990dd');
const template = getTemplate('resume', { taxonomy });
const { panel } = synthesizePanel({ profile: DEMO_DEFAULTS.profile, workers, seed, taxonomy });
const { splits } = completeSplits(panel, new Map(), { seed });
if (!existsSync(panelDir)) {
  const source = { command: 'demo', profile: DEMO_DEFAULTS.profile, workers, seed, splitSeed: seed };
  await writePanelDir(panelDir, { panel, splits, taxonomy, source });
}
let training = null;
if (!v['eval-only']) {
  const texts = (s) => trainingExamples(panel.workers.filter((w) => splits.get(w.id) === s), template, 'resume').map((e) => e.prompt + e.completion);
  const trainTexts = [...texts('train'), ...titleGlossary(taxonomy, { copies: 2, seed })];
  const bpe = learnBpe(trainTexts, { merges: Number(v.merges) });
  const { nEmbd, nLayer, nHead, nFf, contextLength } = DEMO_MODEL;
  const m = await writeTinyLlama({ vocab: bpe.tokenizer, seed, out: base, nEmbd, nLayer, nHead, nFf });
  const r = await finetuneLocal({
    model: base, out: tuned, trainTexts, validTexts: texts('valid'), epochs: Number(v.epochs), contextLength, seed, threads: 1,
    learningRate: Number(v.lr), lrDecay: v.decay, warmupRatio: Number(v.warmup), minLrRatio: Number(v['min-lr']),
  });
  training = {
    parameters: m.parameterCount, vocab: bpe.tokenizer.nVocab, merges: bpe.merges.length, windows: r.trainWindows, seconds: +r.seconds.toFixed(1),
    bestEpoch: r.bestEpoch, history: r.history.map((h) => ({ epoch: h.epoch, train: +h.trainLoss.toFixed(4), valid: +h.valLoss.toFixed(4), seconds: +h.seconds.toFixed(1) })),
  };
}
const store = join(out, `results-${limit}.duckdb`);
rmSync(store, { force: true });
rmSync(`${store}.wal`, { force: true });
const scoring = {};
const runs = [
  ['llama', new ModelScorer({ model: tuned, template: 'resume', mode: 'distribution', engine: { threads: 1 } })],
  ['empirical', new BaselineScorer('empirical')],
  ['logit', new BaselineScorer('logit')],
  ['oracle', new BaselineScorer('oracle')],
];
for (const [name, scorer] of runs) {
  const t0 = performance.now();
  const e = await evaluate({ data: panelDir, out: store, scorer, name, split: 'test', limit: limit > 0 ? limit : undefined });
  scoring[name] = { seconds: +((performance.now() - t0) / 1000).toFixed(1), records: e.transitions.total };
}
const rep = await buildReport([store], { B: DEMO_DEFAULTS.bootstrap, seed, reference: 'llama', variant: 'raw' });
const pooled = rep.datasets[rep.datasets.length - 1];
const perplexity = Object.fromEntries(rep.perplexity.filter((c) => c.dataset === pooled).map((c) => [c.run, +c.perplexity.estimate.toFixed(2)]));
// The report's difference is perplexity(reference) - perplexity(run): here llama minus the baseline.
const llamaMinus = Object.fromEntries(
  rep.differences.filter((c) => c.dataset === pooled).map((c) => [c.run, { estimate: +c.difference.estimate.toFixed(2), se: +c.difference.se.toFixed(2) }]),
);
console.log(JSON.stringify({ options: v, training, scoring, perplexity, llamaMinus }));
