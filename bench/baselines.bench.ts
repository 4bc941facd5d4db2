/**
 * Baseline and metric timings on a full-size synthetic panel:
 *   node --import tsx bench/baselines.bench.ts [--profile psid81|nlsy79|nlsy97] [--workers N] [--seed S] [--l2-grid] [--json]
 * Generates the panel, splits it 70/10/20 by worker, fits every baseline on train (tuning on valid), scores
 * the test transitions and bootstraps test perplexity (B = 1000) with paired differences against the oracle.
 * Prints wall-clock seconds per step and the perplexities with worker-level standard errors.
 */
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import {
  EmpiricalTransitionModel,
  MultinomialLogitModel,
  OracleModel,
  UniformModel,
  scoreBaseline,
  type OccupationModel,
} from '../src/baselines/index.js';
import { bootstrapPerplexity, compareModels } from '../src/metrics/bootstrap.js';
import type { TransitionResult } from '../src/metrics/types.js';
import { panelTransitions } from '../src/data/panel/validate.js';
import { splitPanel } from '../src/data/split/index.js';
import { synthesizePanel } from '../src/data/synth/index.js';

const { values } = parseArgs({
  options: {
    profile: { type: 'string', default: 'psid81' },
    workers: { type: 'string' },
    seed: { type: 'string', default: '0' },
    'l2-grid': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});

const secondsSince = (t: number) => (performance.now() - t) / 1000;
const log = (s: string) => {
  if (!values.json) console.log(s);
};

let t = performance.now();
const synth = synthesizePanel({
  profile: values.profile!,
  workers: values.workers === undefined ? undefined : Number(values.workers),
  seed: Number(values.seed),
});
const panel = synth.panel;
const workerYears = panel.workers.reduce((a, w) => a + w.records.length, 0);
const synthSeconds = secondsSince(t);
const parts = splitPanel(panel, { seed: Number(values.seed) });
const test = panelTransitions(parts.test);
log(
  `${values.profile}: ${panel.workers.length} workers, ${workerYears} worker-years (generated in ${synthSeconds.toFixed(2)} s); ` +
    `train ${parts.train.workers.length} / valid ${parts.valid.workers.length} / test ${parts.test.workers.length} workers, ` +
    `${test.length} test transitions; ${cpus().length} CPUs`,
);

const tax = synth.model.taxonomy;
const models: OccupationModel[] = [
  new OracleModel(synth.model),
  new UniformModel(tax),
  new EmpiricalTransitionModel(tax),
  new MultinomialLogitModel(tax, values['l2-grid'] ? { l2Grid: [1e-5, 3e-5, 1e-4] } : {}),
];
const rows: { model: string; fitSeconds: number; scoreSeconds: number; details: unknown }[] = [];
const results: { name: string; results: TransitionResult[] }[] = [];
for (const m of models) {
  t = performance.now();
  const report = m.fit?.(parts.train, parts.valid);
  const fitSeconds = secondsSince(t);
  t = performance.now();
  const rs = scoreBaseline(m, parts.test, test);
  const scoreSeconds = secondsSince(t);
  rows.push({ model: m.name, fitSeconds, scoreSeconds, details: report?.details ?? {} });
  results.push({ name: m.name, results: rs });
  log(`  ${m.name.padEnd(10)} fit ${fitSeconds.toFixed(2).padStart(7)} s   score ${scoreSeconds.toFixed(2).padStart(6)} s   ${JSON.stringify(report?.details ?? {})}`);
}

t = performance.now();
bootstrapPerplexity(results.find((r) => r.name === 'logit')!.results, { B: 1000, seed: 0 });
const singleBootstrapSeconds = secondsSince(t);
log(`bootstrap (B = 1000, one model, ${test.length} transitions): ${singleBootstrapSeconds.toFixed(2)} s`);
t = performance.now();
const cmp = compareModels(results, { B: 1000, seed: 0, reference: 'oracle' });
const bootstrapSeconds = secondsSince(t);
log(`bootstrap (B = 1000, ${cmp.models[0]!.workers} workers, ${models.length} models, paired): ${bootstrapSeconds.toFixed(2)} s`);
for (const m of cmp.models) {
  const d = cmp.differences.find((x) => x.name === m.name);
  log(
    `  ${m.name.padEnd(10)} perplexity ${m.estimate.toFixed(3)} (${m.se.toFixed(3)})` +
      (d ? `   minus oracle ${d.difference.estimate.toFixed(3)} (${d.difference.se.toFixed(3)})` : ''),
  );
}
if (values.json) {
  console.log(
    JSON.stringify(
      { profile: values.profile, workers: panel.workers.length, workerYears, testTransitions: test.length, synthSeconds, rows, singleBootstrapSeconds, bootstrapSeconds, comparison: cmp },
      null,
      2,
    ),
  );
}
