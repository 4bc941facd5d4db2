#!/usr/bin/env node
// Per-step time of local fine-tuning: one epoch over the resumes of a small synthetic panel, timed
// window by window from the trainer's progress events (validation excluded).
//
//   node bench/finetune-step.mjs [ROOT] [--vocab llama-spm|bpe] [--threads N] [--workers N]
//
// ROOT is a labor-llm checkout with dist/ and a native build (default: this one), so that two
// trainers (e.g. main's llama.cpp-based one and this branch's) run the same model and texts.
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { vocab: { type: 'string', default: 'llama-spm' }, threads: { type: 'string', default: '1' }, workers: { type: 'string', default: '60' } },
});
const root = resolve(positionals[0] ?? '.');
// Through each checkout's public entry point (dist/index.js), whose names outlive folder moves.
const { finetuneLocal, panelSplitsFromSynth, templateTexts, getTemplate } = await import(join(root, 'dist', 'index.js'));
const gguf = await import(join(resolve('.'), 'dist', 'models', 'gguf', 'index.js'));

const splits = panelSplitsFromSynth({ profile: 'psid81', workers: Number(values.workers), seed: 1 });
const template = getTemplate('resume', { taxonomy: splits.taxonomy });
const trainTexts = templateTexts(splits.train, template);
const validTexts = templateTexts(splits.valid, template);
const model = join('/tmp', `finetune-step-${values.vocab}.gguf`);
// The model always comes from this checkout's generator, so both trainers get the same file.
const vocab = values.vocab === 'bpe' ? gguf.learnBpe(trainTexts, { merges: 500 }).tokenizer : values.vocab;
await gguf.writeTinyLlama({ vocab, seed: 1, out: model });
let last;
const steps = [];
const r = await finetuneLocal({
  model, out: join('/tmp', `finetune-step-out-${process.pid}.gguf`), overwrite: true, trainTexts, validTexts, epochs: 1,
  seed: 1, threads: Number(values.threads), learningRate: 1e-3,
  onProgress: (p) => {
    if (p.phase !== 'train') return;
    if (last !== undefined) steps.push(p.elapsedMs - last);
    last = p.elapsedMs;
  },
});
steps.sort((a, b) => a - b);
const median = steps[Math.floor(steps.length / 2)];
const mean = steps.reduce((a, b) => a + b, 0) / steps.length;
console.log(JSON.stringify({
  root, vocab: values.vocab, threads: r.threads, params: r.trainableParams, windows: r.trainWindows, contextLength: r.contextLength,
  msPerStepMedian: +median.toFixed(1), msPerStepMean: +mean.toFixed(1), tokensPerSecond: Math.round((r.contextLength * 1000) / median),
  valLoss: [r.initialValLoss, r.history[0].valLoss].map((x) => +x.toFixed(4)),
}));
