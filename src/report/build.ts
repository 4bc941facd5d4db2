/**
 * Builds the report's tables from results stores with the metrics of src/metrics:
 *
 * - Perplexity per run x dataset with worker-level bootstrap SEs. In each column, the runs scored on the
 *   same transitions are bootstrapped together (compareModels: one set of draws for all), so the SE of a
 *   difference against the reference is the paired SE on the same draws.
 * - Differences against the reference run, where both were scored on the same transitions (with
 *   allowPartial: on the transitions they share).
 * - Top-1/top-5 accuracy and the binary tasks (staying in the same occupation; staying in the labor
 *   force, among transitions from a labor-force state) for runs that stored the full distribution.
 *
 * A run's results may come from several stores (one per dataset, or unmerged shards); a transition is
 * identified by its panel's fingerprint, worker and record index, and one given twice is an error.
 */
import { InputError, ParameterError } from '../errors.js';
import {
  accuracy,
  binaryTaskReport,
  bootstrapPerplexity,
  compareModels,
  type BinaryTaskName,
  type BootstrapEstimate,
  type LogProbVariant,
  type PerplexityEstimate,
  type TransitionResult,
} from '../metrics/index.js';
import { type LaborForceDefinition, OCC1990DD_NOT_IN_LABOR_FORCE } from '../metrics/binary.js';
import { describeDifferences, jsonDifferences } from '../results/identity.js';
import { ResultsStore } from '../results/results-store.js';
import type { StoredResult, StoreMeta } from '../results/types.js';
import {
  ALL_DATASETS,
  type AccuracyCell,
  type BinaryCell,
  type DifferenceCell,
  type PerplexityCell,
  type Report,
  REPORT_FORMAT,
  REPORT_VERSION,
  type ReportOptions,
  type ReportRun,
  type ReportStore,
} from './types.js';

/** The paper's order of the surveys; other dataset names follow alphabetically. */
const DATASET_ORDER = ['PSID81', 'NLSY79', 'NLSY97'];

interface RunData {
  run: ReportRun;
  /** Results keyed for the metrics: workerId is made unique across panels when several are involved. */
  results: TransitionResult[];
  datasets: string[];
  notInLaborForce: string[];
  laborForce: LaborForceDefinition;
}

/** A StoredResult as the metrics' TransitionResult. Perplexity-mode rows have no normalized log-prob,
 * rank or top-k: NaN makes any metric that would need them fail loudly instead of reading zeros. */
function toTransitionResult(r: StoredResult, workerKey: string): TransitionResult {
  const out: TransitionResult = {
    workerId: workerKey,
    index: r.index,
    year: r.year,
    from: r.from,
    to: r.to,
    logProb: r.logProb ?? NaN,
    rank: r.rank ?? NaN,
    topK: r.topK ?? [],
  };
  if (r.rawLogProb !== null) out.rawLogProb = r.rawLogProb;
  if (r.validMass !== null) out.validMass = r.validMass;
  if (r.ties !== null) out.ties = r.ties;
  if (r.pSame !== null) out.pSame = r.pSame;
  if (r.pLaborForce !== null) out.pLaborForce = r.pLaborForce;
  return out;
}

interface LoadedStore {
  path: string;
  meta: StoreMeta;
  workers: number;
  /** Worker id -> position in its evaluation (the same in every shard store of it). */
  ordOf: Map<string, number>;
  runs: { name: string; kind: ReportRun['kind']; config: ReportRun['config']; results: StoredResult[]; workersDone: number; workersTotal: number }[];
}

async function loadStore(path: string): Promise<LoadedStore> {
  const store = await ResultsStore.open(path, { readOnly: true });
  try {
    const runs: LoadedStore['runs'] = [];
    for (const r of await store.runs()) {
      const p = await store.progress(r.name);
      runs.push({ name: r.name, kind: r.kind, config: r.config, results: await store.results(r.name), workersDone: p.workersDone, workersTotal: p.workersTotal });
    }
    const workers = await store.workers();
    return { path, meta: store.meta, workers: workers.length, ordOf: new Map(workers.map((w) => [w.workerId, w.ord])), runs };
  } finally {
    await store.close();
  }
}

function orderDatasets(names: Iterable<string>): string[] {
  const known = (d: string): number => {
    const i = DATASET_ORDER.indexOf(d);
    return i < 0 ? DATASET_ORDER.length : i;
  };
  return [...new Set(names)].sort((a, b) => known(a) - known(b) || a.localeCompare(b));
}

function keyOf(r: TransitionResult): string {
  return `${r.workerId}\u0000${r.index}`;
}

/** Collects the runs of all stores (results combined by run name). */
function collectRuns(stores: LoadedStore[], opts: ReportOptions, notes: string[]): RunData[] {
  const fingerprints = new Set(stores.map((s) => s.meta.dataset.fingerprint));
  const prefix = (s: LoadedStore): string => (fingerprints.size > 1 ? `${s.meta.dataset.fingerprint.slice(0, 10)}:` : '');
  // Rows are put in evaluation order (evaluation, worker ord, record), whichever stores they come from:
  // shard stores then give the same report, bootstrap draws included, as their merged store.
  const evaluationOrder = new Map<string, number>();
  for (const s of stores) {
    const k = `${s.meta.dataset.fingerprint}/${s.meta.dataset.split}/${s.meta.dataset.limit}`;
    if (!evaluationOrder.has(k)) evaluationOrder.set(k, evaluationOrder.size);
  }
  const sortKeys = new Map<TransitionResult, [number, number, number]>();
  const byName = new Map<string, { data: RunData; seen: Map<string, string> }>();
  for (const s of stores) {
    for (const r of s.runs) {
      let entry = byName.get(r.name);
      const cfg = r.config as Record<string, unknown>;
      const model = cfg.model as { file?: string } | undefined;
      if (!entry) {
        const run: ReportRun = {
          name: r.name,
          kind: r.kind,
          stores: [],
          template: typeof cfg.template === 'string' ? cfg.template : null,
          mode: typeof cfg.mode === 'string' ? cfg.mode : null,
          scorer: r.kind === 'baseline' ? String(cfg.baseline) : String(model?.file ?? (cfg.file as { name?: string } | undefined)?.name ?? r.name),
          config: r.config,
          workers: 0,
          workersTotal: 0,
          transitions: 0,
          complete: true,
          hasDistribution: true,
          meanValidMass: null,
        };
        entry = { data: { run, results: [], datasets: [], notInLaborForce: s.meta.taxonomy?.notInLaborForce ?? [...OCC1990DD_NOT_IN_LABOR_FORCE], laborForce: s.meta.taxonomy?.laborForce ?? 'official' }, seen: new Map() };
        byName.set(r.name, entry);
      }
      const { data, seen } = entry;
      const diffs = jsonDifferences(data.run.config, r.config);
      if (diffs.length > 0) {
        notes.push(`Run "${r.name}" combines stores with different configurations (${s.path}: ${describeDifferences(diffs)}).`);
      }
      data.run.stores.push(s.path);
      data.run.workers += r.workersDone;
      data.run.workersTotal += r.workersTotal;
      if (r.workersDone < r.workersTotal) data.run.complete = false;
      const p = prefix(s);
      for (const row of r.results) {
        if (opts.transitionsOnly && row.index === 0) continue;
        const t = toTransitionResult(row, p + row.workerId);
        const k = keyOf(t);
        const prev = seen.get(k);
        if (prev !== undefined) {
          throw new InputError(
            `run "${r.name}" has the result of worker "${row.workerId}", record ${row.index} in both ${prev} and ${s.path}; ` +
              'give the report each evaluation once (rename one run with eval --name if they differ)',
            { file: s.path, field: `runs.${r.name}` },
          );
        }
        seen.set(k, s.path);
        data.results.push(t);
        data.datasets.push(row.dataset);
        const ek = `${s.meta.dataset.fingerprint}/${s.meta.dataset.split}/${s.meta.dataset.limit}`;
        sortKeys.set(t, [evaluationOrder.get(ek)!, s.ordOf.get(row.workerId) ?? 0, row.index]);
        if (row.logProb === null || row.rank === null) data.run.hasDistribution = false;
      }
    }
  }
  for (const { data } of byName.values()) {
    const order = data.results.map((_, i) => i);
    const key = (i: number) => sortKeys.get(data.results[i]!)!;
    order.sort((a, b) => {
      const ka = key(a);
      const kb = key(b);
      return ka[0] - kb[0] || ka[1] - kb[1] || ka[2] - kb[2];
    });
    data.results = order.map((i) => data.results[i]!);
    data.datasets = order.map((i) => data.datasets[i]!);
  }
  // A run absent from a store of the same evaluation (a shard it was never run on) misses its workers.
  const evaluationOf = (s: LoadedStore): string => `${s.meta.dataset.fingerprint}/${s.meta.dataset.split}/${s.meta.dataset.limit}`;
  for (const { data } of byName.values()) {
    const evaluations = new Set(stores.filter((s) => data.run.stores.includes(s.path)).map(evaluationOf));
    for (const s of stores) {
      if (data.run.stores.includes(s.path) || !evaluations.has(evaluationOf(s))) continue;
      data.run.workersTotal += s.workers;
      if (s.workers > 0) data.run.complete = false;
    }
  }
  let runs = [...byName.values()].map((e) => e.data);
  if (opts.runs) {
    const missing = opts.runs.filter((n) => !byName.has(n));
    if (missing.length > 0) {
      throw new ParameterError('runs', `\`runs\`: no run named ${missing.map((m) => `"${m}"`).join(', ')}; the stores have ${[...byName.keys()].join(', ')}`);
    }
    runs = opts.runs.map((n) => byName.get(n)!.data);
  }
  for (const d of runs) {
    d.run.transitions = d.results.length;
    if (d.run.kind === 'model' && d.run.hasDistribution && d.results.length > 0) {
      let s = 0;
      for (const r of d.results) s += r.validMass ?? 0;
      d.run.meanValidMass = s / d.results.length;
    }
  }
  return runs;
}

/** "stores of evaluation X cover shards 0,2 of 3" for each evaluation whose shard stores are not all given. */
function missingShards(stores: readonly LoadedStore[]): string[] {
  const groups = new Map<string, { count: number; indices: Set<number>; paths: string[] }>();
  for (const s of stores) {
    const d = s.meta.dataset;
    const key = `${d.fingerprint}/${d.split}/${d.limit}/${s.meta.shards.count}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { count: s.meta.shards.count, indices: new Set(), paths: [] }));
    for (const i of s.meta.shards.indices) g.indices.add(i);
    g.paths.push(s.path);
  }
  const out: string[] = [];
  for (const g of groups.values()) {
    if (g.indices.size === g.count) continue;
    const have = [...g.indices].sort((a, b) => a - b).join(',');
    out.push(`the stores ${g.paths.join(', ')} hold shards ${have} of ${g.count} of one evaluation`);
  }
  return out;
}

/** A difference run - reference as the paper writes it: reference - run (baseline - model). */
function referenceMinusRun(e: BootstrapEstimate): BootstrapEstimate {
  return { ...e, estimate: -e.estimate, ci: [-e.ci[1], -e.ci[0]] };
}

/** The results of one column (a dataset, or all). */
function columnResults(d: RunData, dataset: string): TransitionResult[] {
  if (dataset === ALL_DATASETS) return d.results;
  return d.results.filter((_, i) => d.datasets[i] === dataset);
}

function sameKeys(a: readonly TransitionResult[], b: readonly TransitionResult[]): boolean {
  if (a.length !== b.length) return false;
  const ka = new Set(a.map(keyOf));
  return b.every((r) => ka.has(keyOf(r)));
}

function restrictTo(results: readonly TransitionResult[], keys: Set<string>): TransitionResult[] {
  return results.filter((r) => keys.has(keyOf(r)));
}

export async function buildReport(storePaths: readonly string[], opts: ReportOptions = {}): Promise<Report> {
  if (storePaths.length === 0) throw new InputError('name at least one results store');
  const B = opts.B ?? 1000;
  const seed = opts.seed ?? 0;
  const level = opts.level ?? 0.95;
  const variant: LogProbVariant = opts.variant ?? 'raw';
  const allowPartial = opts.allowPartial ?? false;
  const bins = opts.bins ?? 10;
  const transitionsOnly = opts.transitionsOnly ?? false;
  if (!Number.isInteger(B) || B < 2) throw new ParameterError('B', `\`B\` must be an integer >= 2, got ${B}`);
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new ParameterError('seed', `\`seed\` must be an integer in [0, 2^32), got ${seed}`);
  }

  const stores: LoadedStore[] = [];
  for (const p of storePaths) stores.push(await loadStore(p));
  const notes: string[] = [];
  // Shard stores given directly must cover every shard of their evaluation.
  for (const missing of missingShards(stores)) {
    if (!allowPartial) {
      throw new ParameterError('storePaths', `${missing}; give every shard's store (or merge them with labor-llm merge), or pass \`allowPartial\``);
    }
    notes.push(`${missing}.`);
  }
  const all = collectRuns(stores, opts, notes);
  if (all.length === 0) throw new InputError(`the stores hold no runs: ${storePaths.join(', ')}`);

  const incomplete = all.filter((d) => !d.run.complete);
  if (incomplete.length > 0) {
    const list = incomplete.map((d) => `"${d.run.name}" (${d.run.workers} of ${d.run.workersTotal} workers)`).join(', ');
    if (!allowPartial) {
      throw new ParameterError(
        'allowPartial',
        `incomplete runs: ${list}; finish them (run the same eval command again), merge all shards, or pass \`allowPartial\``,
        { file: incomplete[0]!.run.stores[0]! },
      );
    }
    notes.push(`Incomplete runs reported on the transitions scored so far: ${list}.`);
  }
  const empty = all.filter((d) => d.results.length === 0);
  for (const d of empty) notes.push(`Run "${d.run.name}" has no results yet and is left out.`);
  const runs = all.filter((d) => d.results.length > 0);

  // Runs the chosen perplexity cannot use.
  const usable = runs.filter((d) => variant === 'raw' || d.run.hasDistribution);
  for (const d of runs) {
    if (!usable.includes(d)) {
      notes.push(`Run "${d.run.name}" (${d.run.mode ?? d.run.kind} mode) stored raw log-probs only: it is in the raw perplexities (--variant raw), not the normalized ones.`);
    }
  }

  let reference: string | null = null;
  if (opts.reference !== undefined) {
    const ref = runs.find((d) => d.run.name === opts.reference);
    if (!ref) {
      throw new ParameterError('reference', `\`reference\` "${opts.reference}" is not a run of these stores (${runs.map((d) => d.run.name).join(', ')})`);
    }
    if (!usable.includes(ref)) {
      throw new ParameterError('reference', `\`reference\` "${opts.reference}" has raw log-probs only; use \`variant\` raw to compare with it`);
    }
    reference = ref.run.name;
  } else if (usable.length > 0) {
    // The paper writes differences as baseline minus model: against a baseline by default.
    reference = (usable.find((d) => d.run.kind !== 'model') ?? usable[0]!).run.name;
  }

  const datasetNames = orderDatasets(runs.flatMap((d) => d.datasets));
  const datasets = datasetNames.length > 1 ? [...datasetNames, ALL_DATASETS] : datasetNames;

  const perplexity: PerplexityCell[] = [];
  const differences: DifferenceCell[] = [];
  const bopts = { B, seed, level, variant };
  const runByName = (name: string): RunData => usable.find((d) => d.run.name === name)!;
  // The leading perplexity in `variant`, the other one beside it (normalized only where stored).
  const perplexityCell = (d: RunData, dataset: string, lead: PerplexityEstimate): PerplexityCell => {
    const other: LogProbVariant = variant === 'raw' ? 'normalized' : 'raw';
    const beside = other === 'raw' || d.run.hasDistribution ? bootstrapPerplexity(columnResults(d, dataset), { ...bopts, variant: other }) : null;
    return {
      run: d.run.name,
      dataset,
      variant,
      perplexity: lead,
      raw: variant === 'raw' ? lead : beside!,
      normalized: variant === 'normalized' ? lead : beside,
    };
  };
  for (const dataset of datasets) {
    const cols = usable.map((d) => ({ d, results: columnResults(d, dataset) })).filter((c) => c.results.length > 0);
    const ref = cols.find((c) => c.d.run.name === reference);
    // Runs on exactly the reference's transitions share one set of draws; the others are bootstrapped alone.
    const group = ref ? cols.filter((c) => sameKeys(c.results, ref.results)) : [];
    const groupNames = new Set(group.map((c) => c.d.run.name));
    if (group.length > 0) {
      const cmp = compareModels(
        group.map((c) => ({ name: c.d.run.name, results: c.results })),
        { ...bopts, reference: reference! },
      );
      for (const m of cmp.models) {
        const { name, ...est } = m;
        perplexity.push(perplexityCell(runByName(name), dataset, est));
      }
      for (const diff of cmp.differences) {
        differences.push({
          run: diff.name,
          reference: diff.reference,
          dataset,
          difference: referenceMinusRun(diff.difference),
          logDifference: referenceMinusRun(diff.logDifference),
          transitions: ref!.results.length,
          workers: cmp.models[0]!.workers,
        });
      }
    }
    for (const c of cols) {
      if (groupNames.has(c.d.run.name)) continue;
      perplexity.push(perplexityCell(c.d, dataset, bootstrapPerplexity(c.results, bopts)));
      if (!ref) continue;
      const refKeys = new Set(ref.results.map(keyOf));
      const common = new Set(c.results.map(keyOf).filter((k) => refKeys.has(k)));
      if (allowPartial && common.size > 0) {
        const cmp = compareModels(
          [
            { name: reference!, results: restrictTo(ref.results, common) },
            { name: c.d.run.name, results: restrictTo(c.results, common) },
          ],
          { ...bopts, reference: reference! },
        );
        const diff = cmp.differences[0]!;
        differences.push({
          run: c.d.run.name,
          reference: reference!,
          dataset,
          difference: referenceMinusRun(diff.difference),
          logDifference: referenceMinusRun(diff.logDifference),
          transitions: common.size,
          workers: cmp.models[0]!.workers,
        });
      } else {
        notes.push(
          `${dataset}: "${c.d.run.name}" and the reference "${reference}" were not scored on the same transitions ` +
            `(${c.results.length} and ${ref.results.length}, ${common.size} in common); no difference is reported.`,
        );
      }
    }
  }

  const accuracyCells: AccuracyCell[] = [];
  const binary: BinaryCell[] = [];
  const tasks: { task: BinaryTaskName; among: BinaryCell['among'] }[] = [
    { task: 'sameOccupation', among: 'all' },
    { task: 'laborForce', among: 'previousInLaborForce' },
  ];
  for (const d of runs) {
    if (!d.run.hasDistribution) continue;
    for (const dataset of datasets) {
      const results = columnResults(d, dataset);
      if (results.length === 0) continue;
      const acc = accuracy(results);
      accuracyCells.push({ run: d.run.name, dataset, transitions: results.length, top1: acc.top1, top5: acc.top5 });
      for (const { task, among } of tasks) {
        if (task === 'laborForce' && d.notInLaborForce.length === 0) continue;
        let rep;
        try {
          rep = binaryTaskReport(results, task, { among, notInLaborForce: d.notInLaborForce, bins });
        } catch (err) {
          // An empty task (no transition from a labor-force state in this column) has no metrics.
          if (err instanceof InputError) continue;
          throw err;
        }
        binary.push({
          run: d.run.name,
          dataset,
          task,
          among,
          laborForce: task === 'laborForce' ? d.laborForce : null,
          n: rep.n,
          rate: rep.rate,
          logLoss: rep.logLoss,
          brier: rep.brier,
          auc: rep.auc,
          ece: rep.calibration.eceEqualWidth,
          calibration: rep.calibration.equalWidth,
        });
      }
    }
  }
  if (runs.some((d) => d.notInLaborForce.length === 0 && d.run.hasDistribution)) {
    notes.push('The taxonomy of some stores has no states outside the labor force: the labor-force task is left out for their runs.');
  }

  const reportStores: ReportStore[] = stores.map((s) => ({
    path: s.path,
    dataset: s.meta.dataset,
    shards: s.meta.shards,
    runs: s.runs.map((r) => r.name),
  }));
  return {
    format: REPORT_FORMAT,
    version: REPORT_VERSION,
    options: { B, seed, level, variant, reference, allowPartial, transitionsOnly },
    stores: reportStores,
    runs: runs.map((d) => d.run),
    datasets,
    perplexity,
    differences,
    accuracy: accuracyCells,
    binary,
    notes,
  };
}
