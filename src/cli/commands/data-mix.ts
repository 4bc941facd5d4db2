/**
 * `labor-llm data mix` and `labor-llm data randomize`: the paper's training mixtures and demographic
 * randomization (talk lines 426-488), from panel stores to a new panel store.
 *
 *   data mix --union A B C --percent P          setting 1: P% of the union of the panels' training
 *                                                workers (N = floor(P/100 * union)); the panels' valid
 *                                                and test workers are all kept, in their splits
 *   data mix --base A --add B C --percent P     setting 2: every worker of A (in its split) plus
 *                                                floor(P/100 * A's training workers) training workers
 *                                                drawn from B and C together
 *   data randomize PANEL --fields gender,region  test-time randomization: the traits are permuted
 *                                                among the test workers of each dataset
 *
 * Mixture ids are "DATASET:id" (src/data/split/mixture.ts); a worker keeps its dataset and so its header.
 */
import type { Argv, CommandModule } from 'yargs';
import { InputError } from '../../errors.js';
import { type PanelStore, readPanelDir, type SplitMembership, type SplitName, SPLIT_NAMES, writePanelDir } from '../../data/io/index.js';
import type { Panel, Worker } from '../../data/panel/types.js';
import { mixBasePlus, mixUnion, shareOf } from '../../data/split/mixture.js';
import { DEMOGRAPHIC_FIELDS, type DemographicField, randomizeDemographicsWithin } from '../../data/split/randomize.js';
import { type ArgsOf, integer, oneOf, PANEL_FORCE_OPTION, PANEL_OUT_OPTION } from '../args.js';
import { printJson, type GlobalOptions } from '../output.js';

/** The workers of a store in the given splits; InputError when a worker has no split. */
function workersIn(store: PanelStore, dir: string, splits: readonly SplitName[]): Panel {
  const unassigned = store.panel.workers.find((w) => store.splits.get(w.id) === undefined);
  if (unassigned) {
    throw new InputError(`worker "${unassigned.id}" of ${dir} has no split; run "labor-llm data split ${dir} --write" first`, { file: dir, field: 'split' });
  }
  return { taxonomy: store.panel.taxonomy, workers: store.panel.workers.filter((w) => splits.includes(store.splits.get(w.id) as SplitName)) };
}

/** Each mixture worker's split: its split in its own store (ids are "DATASET:id"), or train for `added`. */
function mixtureSplits(mixed: Panel, stores: readonly PanelStore[], added: ReadonlySet<string>): SplitMembership {
  const original = new Map<string, SplitName>();
  for (const s of stores) for (const w of s.panel.workers) original.set(`${w.dataset}:${w.id}`, s.splits.get(w.id) as SplitName);
  return new Map(mixed.workers.map((w) => [w.id, added.has(w.id) ? 'train' : (original.get(w.id) as SplitName)]));
}

function countsBy(workers: readonly Worker[], key: (w: Worker) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const w of workers) out[key(w)] = (out[key(w)] ?? 0) + 1;
  return out;
}

function mixBuilder(y: Argv<GlobalOptions>) {
  return y
    .option('union', { type: 'string', array: true, describe: 'setting 1: panel stores whose training workers are pooled' })
    .option('base', { type: 'string', describe: 'setting 2: the base panel store (all of its workers are kept)' })
    .option('add', { type: 'string', array: true, describe: 'setting 2: panel stores the added training workers are drawn from, together' })
    .conflicts('union', 'base')
    .conflicts('union', 'add')
    .option('percent', { type: 'number', demandOption: true, describe: 'setting 1: % of the union; setting 2: % of the base\'s training workers to add' })
    .option('from-splits', {
      choices: ['train', 'all'] as const,
      default: 'train' as const,
      describe: 'setting 2: draw added workers from the --add panels\' training splits, or from all their workers',
    })
    .option('seed', { type: 'number', default: 0, describe: 'seed of the draw (a larger --percent keeps a superset)' })
    .option('out', PANEL_OUT_OPTION)
    .option('force', PANEL_FORCE_OPTION)
    .example('$0 data mix --union panels/psid81 panels/nlsy79 panels/nlsy97 --percent 20 --out panels/mix20', "setting 1: the talk's \"20% of mix, N=7,352\"")
    .example('$0 data mix --base panels/psid81 --add panels/nlsy79 panels/nlsy97 --percent 10 --out panels/psid-plus10', 'setting 2: PSID plus 10% of its worker count');
}

export const mixCommand: CommandModule<GlobalOptions, ArgsOf<typeof mixBuilder>> = {
  command: 'mix',
  describe: "the paper's training mixtures: --union (setting 1) or --base with --add (setting 2)",
  builder: mixBuilder,
  handler: async (args) => {
    const seed = integer('seed', args.seed);
    const percent = args.percent;
    shareOf(0, percent); // checks the range before anything is read
    const fromSplits = oneOf('from-splits', args.fromSplits, ['train', 'all'] as const);
    let dirs: string[];
    let mixed: Panel;
    let stores: PanelStore[];
    let added = new Set<string>();
    let setting: 1 | 2;
    if (args.union !== undefined) {
      setting = 1;
      dirs = args.union.map(String);
      if (dirs.length < 2) throw new InputError('--union needs at least two panel stores');
      stores = await Promise.all(dirs.map((d) => readPanelDir(d)));
      const train = stores.map((s, i) => workersIn(s, dirs[i]!, ['train']));
      const n = shareOf(train.reduce((a, p) => a + p.workers.length, 0), percent);
      const sampled = mixUnion(train, { seed, workers: n });
      const heldOut = mixUnion(stores.map((s, i) => workersIn(s, dirs[i]!, ['valid', 'test'])), { seed });
      mixed = { taxonomy: sampled.taxonomy, workers: [...sampled.workers, ...heldOut.workers] };
    } else if (args.base !== undefined && args.add !== undefined && args.add.length > 0) {
      setting = 2;
      dirs = [args.base, ...args.add.map(String)];
      stores = await Promise.all(dirs.map((d) => readPanelDir(d)));
      const [base, ...others] = stores as [PanelStore, ...PanelStore[]];
      const drawable: readonly SplitName[] = fromSplits === 'train' ? ['train'] : SPLIT_NAMES;
      const baseTrain = workersIn(base, args.base, ['train']);
      const plus = mixBasePlus(baseTrain, others.map((s, i) => workersIn(s, dirs[i + 1]!, drawable)), { seed, percent });
      const heldOut = mixUnion([workersIn(base, args.base, ['valid', 'test'])], { seed });
      added = new Set(plus.workers.slice(baseTrain.workers.length).map((w) => w.id));
      mixed = { taxonomy: plus.taxonomy, workers: [...plus.workers, ...heldOut.workers] };
    } else {
      throw new InputError('give --union A B ... (setting 1) or --base A --add B ... (setting 2)');
    }
    const splits = mixtureSplits(mixed, stores, added);
    const train = mixed.workers.filter((w) => splits.get(w.id) === 'train');
    const source = { command: 'data mix', setting, panels: dirs, percent, seed, ...(setting === 2 ? { fromSplits } : {}) };
    const meta = await writePanelDir(args.out, { panel: mixed, splits, taxonomy: stores[0]!.taxonomy, source }, { overwrite: args.force });
    const result = {
      command: 'data mix',
      setting,
      percent,
      seed,
      out: args.out,
      workers: meta.workers,
      splits: meta.splits,
      trainByDataset: countsBy(train, (w) => w.dataset),
      added: added.size,
    };
    if (args.json) return printJson(result);
    const byDataset = Object.entries(result.trainByDataset).map(([d, n]) => `${d} ${n}`).join(', ');
    process.stdout.write(
      `wrote a setting-${setting} mixture to ${args.out}: ${train.length} training workers (${byDataset})` +
        `${setting === 2 ? `, of which ${added.size} added` : ''}; ${meta.splits.valid} valid, ${meta.splits.test} test\n`,
    );
  },
};

function randomizeBuilder(y: Argv<GlobalOptions>) {
  return y
    .positional('panel', { type: 'string', demandOption: true, describe: 'panel store folder' })
    .option('fields', { type: 'string', default: DEMOGRAPHIC_FIELDS.join(','), describe: `traits to permute, comma-separated: ${DEMOGRAPHIC_FIELDS.join(', ')}` })
    .option('split', { choices: ['all', ...SPLIT_NAMES] as const, default: 'test' as const, describe: 'which workers are permuted (all: each split on its own)' })
    .option('seed', { type: 'number', default: 0, describe: 'seed of the permutations' })
    .option('out', PANEL_OUT_OPTION)
    .option('force', PANEL_FORCE_OPTION)
    .example('$0 data randomize panels/psid81 --fields gender --out panels/psid81-gender', "the talk's \"Randomized gender\" row")
    .example('$0 data randomize panels/psid81 --fields gender,ethnicity,region --out panels/psid81-all', '"Randomized all variables"');
}

export const randomizeCommand: CommandModule<GlobalOptions, ArgsOf<typeof randomizeBuilder>> = {
  command: 'randomize <panel>',
  describe: "the paper's demographic randomization: permute gender, ethnicity and/or region among a split's workers of each dataset",
  builder: randomizeBuilder,
  handler: async (args) => {
    const seed = integer('seed', args.seed);
    const split = oneOf('split', args.split, ['all', ...SPLIT_NAMES] as const);
    const fields = args.fields.split(',').map((f) => oneOf('fields', f.trim(), DEMOGRAPHIC_FIELDS)) as DemographicField[];
    if (new Set(fields).size !== fields.length) throw new InputError(`--fields names a trait twice: "${args.fields}"`);
    const store = await readPanelDir(args.panel);
    const groupOf = (w: Worker): string | undefined => {
      const s = store.splits.get(w.id);
      if (s === undefined || (split !== 'all' && s !== split)) return undefined;
      return `${s}\u0000${w.dataset}`;
    };
    const panel = randomizeDemographicsWithin(store.panel, groupOf, { seed, fields });
    const permuted = store.panel.workers.filter((w) => groupOf(w) !== undefined).length;
    if (permuted === 0) throw new InputError(`${args.panel} has no ${split === 'all' ? '' : `${split} `}workers with a split to permute`, { file: args.panel, field: 'split' });
    const changed = panel.workers.filter((w, i) => fields.some((f) => w[f] !== store.panel.workers[i]![f])).length;
    const source = { command: 'data randomize', panel: args.panel, fields, split, seed };
    await writePanelDir(args.out, { panel, splits: store.splits, taxonomy: store.taxonomy, source }, { overwrite: args.force });
    const result = { command: 'data randomize', panel: args.panel, out: args.out, fields, split, seed, permuted, changed };
    if (args.json) return printJson(result);
    process.stdout.write(`permuted ${fields.join(', ')} among ${permuted} ${split === 'all' ? '' : `${split} `}workers (each dataset on its own; ${changed} changed) into ${args.out}\n`);
  },
};
