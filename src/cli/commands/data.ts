/**
 * `labor-llm data`: panels in and out. Every subcommand reads or writes a panel store (the folder
 * described in src/data/io/panel-store.ts):
 *
 *   data import   CAREER folder or long table (CSV/Parquet) -> panel store
 *   data export   panel store -> CAREER folder or long table
 *   data synth    synthetic panel with known true probabilities -> panel store
 *   data split    assign / show train-valid-test membership
 *   data render   the texts a template makes of a panel's workers
 *   data training fine-tuning files (Together, OpenAI chat, plain text) with sizes and token counts
 *   data mix      the paper's training mixtures of several panels (data-mix.ts)
 *   data randomize  the paper's demographic randomization (data-mix.ts)
 *
 * Outputs are written under a temporary name and renamed when complete, so a failed command leaves no
 * output that looks finished.
 */
import { writeFile } from 'node:fs/promises';
import type { Argv, CommandModule } from 'yargs';
import { InputError } from '../../errors.js';
import {
  completeSplits,
  importPanel,
  type LongFileFormat,
  parseColumnMapping,
  type PanelStore,
  readPanelDir,
  recordCount,
  type SplitMembership,
  splitCounts,
  type SplitName,
  SPLIT_NAMES,
  writeCareerDir,
  writeFileAtomic,
  writeLongTable,
  writePanelDir,
} from '../../data/io/index.js';
import type { Panel, Worker } from '../../data/panel/types.js';
import type { UnknownCodePolicy } from '../../data/panel/validate.js';
import { DEFAULT_FRACTIONS, type SplitFractions } from '../../data/split/split.js';
import { PROFILE_NAMES, synthesizePanel } from '../../data/synth/index.js';
import { loadTaxonomy, numberTaxonomy, type Taxonomy } from '../../data/taxonomy/taxonomy.js';
import { getTemplate, ICL_DEFAULT_K, needsExamplePool, TEMPLATE_NAMES, type Template } from '../../data/template/index.js';
import {
  formatTrainingFile,
  trainingExamples,
  TRAINING_FORMATS,
  type TrainingFormat,
} from '../../data/training/index.js';
import { type ArgsOf, integer, oneOf, PANEL_FORCE_OPTION, PANEL_OUT_OPTION } from '../args.js';
import { log, printJson, type GlobalOptions } from '../output.js';
import { mixCommand, randomizeCommand } from './data-mix.js';

/** "70,10,20" or "0.7,0.1,0.2" -> fractions summing to 1. */
export function parseFractions(text: string): SplitFractions {
  const parts = text.split(',').map((s) => Number(s.trim()));
  if (parts.length !== 3 || parts.some((p) => !Number.isFinite(p) || p < 0)) {
    throw new InputError(`--fractions must be three non-negative numbers TRAIN,VALID,TEST (e.g. 70,10,20), got "${text}"`);
  }
  const total = parts.reduce((a, b) => a + b, 0);
  if (total <= 0) throw new InputError(`--fractions must not all be zero, got "${text}"`);
  const [train, valid, test] = parts.map((p) => p / total) as [number, number, number];
  return { train, valid, test };
}

function unknownCodePolicy(code: string | undefined): UnknownCodePolicy {
  return code === undefined || code === '' ? 'error' : { mapTo: code };
}

function taxonomyFor(name: string, numberedSeed: number | undefined): Taxonomy {
  return numberedSeed === undefined ? loadTaxonomy(name) : loadTaxonomy(name, { numbered: { seed: numberedSeed } });
}

/** exp(-mean log p) over the records that carry the generator's true probability, or null. */
export function oraclePerplexity(workers: readonly Worker[]): number | null {
  let sum = 0;
  let n = 0;
  for (const w of workers) {
    for (const r of w.records) {
      if (r.trueProbability === undefined) continue;
      sum += Math.log(r.trueProbability);
      n++;
    }
  }
  return n === 0 ? null : Math.exp(-sum / n);
}

function splitSummary(panel: Panel, splits: SplitMembership): Record<SplitName | 'unassigned', number> {
  const counts = splitCounts(panel, splits);
  return { ...counts, unassigned: panel.workers.length - counts.train - counts.valid - counts.test };
}

function workersOf(store: PanelStore, split: string | undefined): Worker[] {
  if (split === undefined || split === 'all') return store.panel.workers;
  const s = oneOf('split', split, SPLIT_NAMES);
  return store.panel.workers.filter((w) => store.splits.get(w.id) === s);
}

function fmtCounts(c: Record<string, number>): string {
  return Object.entries(c)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
}

// ---------------------------------------------------------------------------------------------- import

function importBuilder(y: Argv<GlobalOptions>) {
  return y
    .positional('input', { type: 'string', demandOption: true, describe: 'CAREER folder, or long table (.csv / .parquet)' })
    .option('format', {
      choices: ['career', 'long'] as const,
      describe: 'input format (default: career for a folder, long for a file; CSV or Parquet is read from the bytes)',
    })
    .option('taxonomy', { type: 'string', default: 'occ1990dd', describe: 'occ1990dd, soc2018 or the path of a code,title CSV' })
    .option('numbered-seed', { type: 'number', describe: 'use the numbered-title variant of the taxonomy, titles shuffled with this seed' })
    .option('out', PANEL_OUT_OPTION)
    .option('dataset', { type: 'string', describe: 'dataset name when the input does not say (CAREER files, tables without a dataset column)' })
    .option('unknown-code', { type: 'string', describe: 'map codes outside the taxonomy to this code (default: an error)' })
    .option('column', {
      type: 'string',
      array: true,
      describe: 'long tables: FIELD=COLUMN where the column name differs from the default (repeatable, or comma-separated)',
    })
    .option('split-seed', { type: 'number', default: 0, describe: 'seed of the 70/10/20 split given to workers the input assigns none' })
    .option('force', PANEL_FORCE_OPTION)
    .example('$0 data import career-data/ --format career --dataset NLSY79 --out panels/nlsy79', 'CAREER split files')
    .example('$0 data import psid.csv --column worker_id=pid,year=wave --out panels/psid', 'a long CSV with other column names')
    .example('$0 data import nlsy97.parquet --taxonomy soc2018 --unknown-code 99-9999 --out panels/nlsy97', 'Parquet, SOC codes');
}

const importCommand: CommandModule<GlobalOptions, ArgsOf<typeof importBuilder>> = {
  command: 'import <input>',
  describe: 'read a CAREER folder or a long table (CSV/Parquet) into a panel store',
  builder: importBuilder,
  handler: async (args) => {
    const format = args.format === undefined ? undefined : oneOf('format', args.format, ['career', 'long'] as const);
    const numberedSeed = args.numberedSeed === undefined ? undefined : integer('numbered-seed', args.numberedSeed);
    const taxonomy = taxonomyFor(args.taxonomy, numberedSeed);
    const columns = parseColumnMapping(args.column ?? []);
    const imported = await importPanel(args.input, {
      format,
      taxonomy,
      columns,
      dataset: args.dataset,
      unknownCode: unknownCodePolicy(args.unknownCode),
    });
    const seed = integer('split-seed', args.splitSeed);
    const { splits, assigned } = completeSplits(imported.panel, imported.splits, { seed });
    const source = {
      command: 'data import',
      format: imported.detected,
      input: args.input,
      splits: assigned === 0 ? 'input' : assigned === imported.panel.workers.length ? `assigned (seed ${seed})` : 'mixed',
    };
    const meta = await writePanelDir(args.out, { panel: imported.panel, splits, taxonomy, source }, { overwrite: args.force, inputs: [args.input] });
    const result = {
      command: 'data import',
      input: args.input,
      format: imported.detected,
      out: args.out,
      taxonomy: taxonomy.name,
      numberedSeed: numberedSeed ?? null,
      workers: meta.workers,
      records: meta.records,
      datasets: meta.datasets,
      splits: meta.splits,
      splitsAssigned: assigned,
      splitSeed: assigned > 0 ? seed : null,
      mappedCodes: imported.report.mappedCodes,
      normalizedEducation: imported.report.normalizedEducation,
      filesRead: imported.report.files,
    };
    if (args.json) return printJson(result);
    log(args, `read ${imported.report.files.length} file(s) as ${imported.detected}`);
    const lines = [
      `imported ${meta.workers} workers, ${meta.records} worker-years (${fmtCounts(meta.datasets)}) into ${args.out}`,
      `splits: ${fmtCounts(meta.splits)}${assigned > 0 ? ` (${assigned} assigned with seed ${seed})` : ''}`,
    ];
    const mapped = Object.entries(imported.report.mappedCodes);
    if (mapped.length > 0) lines.push(`unknown codes mapped to ${args.unknownCode}: ${mapped.map(([c, n]) => `${c} (${n})`).join(', ')}`);
    const edu = Object.entries(imported.report.normalizedEducation);
    if (edu.length > 0) lines.push(`education normalised: ${edu.map(([c, n]) => `${c} (${n})`).join(', ')}`);
    process.stdout.write(`${lines.join('\n')}\n`);
  },
};

// ---------------------------------------------------------------------------------------------- export

function exportBuilder(y: Argv<GlobalOptions>) {
  return y
    .positional('panel', { type: 'string', demandOption: true, describe: 'panel store folder (from data import / data synth)' })
    .option('format', { choices: ['career', 'long'] as const, demandOption: true, describe: 'CAREER split files or a long table' })
    .option('out', { type: 'string', demandOption: true, describe: 'folder (career) or file (long: .csv or .parquet)' })
    .option('table', { choices: ['csv', 'parquet'] as const, describe: 'long table file type (default: from the --out extension)' })
    .option('column', { type: 'string', array: true, describe: 'long tables: FIELD=COLUMN names to write instead of the defaults' })
    .option('force', { type: 'boolean', default: false, describe: 'replace an existing output' })
    .example('$0 data export panels/nlsy79 --format career --out career-data/', 'files for the CAREER code')
    .example('$0 data export panels/nlsy79 --format long --out nlsy79.parquet', 'one row per worker-year, Parquet');
}

const exportCommand: CommandModule<GlobalOptions, ArgsOf<typeof exportBuilder>> = {
  command: 'export <panel>',
  describe: 'write a panel store as CAREER split files or a long table (CSV/Parquet)',
  builder: exportBuilder,
  handler: async (args) => {
    const format = oneOf('format', args.format, ['career', 'long'] as const);
    const store = await readPanelDir(args.panel);
    const { panel, splits } = store;
    if (format === 'career') {
      if (args.column !== undefined || args.table !== undefined) {
        throw new InputError('--column and --table apply to --format long only');
      }
      const unassigned = panel.workers.filter((w) => !splits.has(w.id)).length;
      if (unassigned > 0) {
        throw new InputError(`${unassigned} workers have no split; CAREER files need one: run "labor-llm data split ${args.panel} --write" first`);
      }
      const report = await writeCareerDir(args.out, panel, splits, { overwrite: args.force, inputs: [args.panel] });
      const result = {
        command: 'data export',
        format,
        panel: args.panel,
        out: args.out,
        files: report.files,
        workers: report.workers,
        records: recordCount(panel),
        datasetFiles: !report.datasetOmitted,
        datasets: [...new Set(panel.workers.map((w) => w.dataset))],
      };
      if (args.json) return printJson(result);
      process.stdout.write(
        `wrote ${report.files.length} files for ${panel.workers.length} workers (${fmtCounts(report.workers)}) to ${args.out}\n` +
          (report.datasetOmitted ? `every worker is from ${result.datasets[0]}: re-import with --dataset ${result.datasets[0]}\n` : ''),
      );
      return;
    }
    const table = args.table === undefined ? undefined : oneOf<LongFileFormat>('table', args.table, ['csv', 'parquet']);
    const columns = parseColumnMapping(args.column ?? []);
    const hasSplits = splits.size > 0 ? splits : undefined;
    const out = await writeLongTable(args.out, panel, hasSplits, { format: table, columns, overwrite: args.force, inputs: [args.panel] });
    const result = { command: 'data export', format, table: out.format, panel: args.panel, out: out.file, rows: out.rows, workers: panel.workers.length };
    if (args.json) return printJson(result);
    process.stdout.write(`wrote ${out.rows} rows (${panel.workers.length} workers) as ${out.format} to ${out.file}\n`);
  },
};

// ----------------------------------------------------------------------------------------------- synth

function synthBuilder(y: Argv<GlobalOptions>) {
  return y
    .option('profile', { choices: PROFILE_NAMES, demandOption: true, describe: 'survey whose shape to imitate' })
    .option('workers', { type: 'number', describe: "number of workers (default: the survey's full size)" })
    .option('seed', { type: 'number', default: 0, describe: 'the same seed gives the same panel, byte for byte' })
    .option('taxonomy', { type: 'string', default: 'occ1990dd', describe: 'taxonomy of the codes' })
    .option('split-seed', { type: 'number', describe: 'seed of the 70/10/20 worker split (default: --seed)' })
    .option('out', PANEL_OUT_OPTION)
    .option('force', PANEL_FORCE_OPTION)
    .example('$0 data synth --profile nlsy79 --workers 500 --seed 1 --out panels/synth-nlsy79', 'a small synthetic NLSY79-like panel')
    .example('$0 data synth --profile psid81 --out panels/psid81-full', 'full size: 31,056 workers');
}

const synthCommand: CommandModule<GlobalOptions, ArgsOf<typeof synthBuilder>> = {
  command: 'synth',
  describe: 'generate a synthetic panel whose true transition probabilities are known (the oracle)',
  builder: synthBuilder,
  handler: async (args) => {
    const profile = oneOf('profile', args.profile, PROFILE_NAMES);
    const seed = integer('seed', args.seed);
    const workers = args.workers === undefined ? undefined : integer('workers', args.workers, 1);
    const splitSeed = args.splitSeed === undefined ? seed : integer('split-seed', args.splitSeed);
    const taxonomy = loadTaxonomy(args.taxonomy);
    const { panel } = synthesizePanel({ profile, workers, seed, taxonomy });
    const { splits } = completeSplits(panel, new Map(), { seed: splitSeed });
    const source = { command: 'data synth', profile, workers: panel.workers.length, seed, splitSeed };
    const meta = await writePanelDir(args.out, { panel, splits, taxonomy, source }, { overwrite: args.force });
    const test = panel.workers.filter((w) => splits.get(w.id) === 'test');
    const result = {
      command: 'data synth',
      profile,
      seed,
      splitSeed,
      out: args.out,
      workers: meta.workers,
      records: meta.records,
      transitions: meta.records - meta.workers,
      splits: meta.splits,
      oraclePerplexity: { all: oraclePerplexity(panel.workers), test: oraclePerplexity(test) },
    };
    if (args.json) return printJson(result);
    process.stdout.write(
      `wrote a synthetic ${profile} panel: ${meta.workers} workers, ${meta.records} worker-years to ${args.out}\n` +
        `splits: ${fmtCounts(meta.splits)}\n` +
        `oracle perplexity: ${result.oraclePerplexity.all?.toFixed(3) ?? 'n/a'} (all), ${result.oraclePerplexity.test?.toFixed(3) ?? 'n/a'} (test)\n`,
    );
  },
};

// ----------------------------------------------------------------------------------------------- split

function splitBuilder(y: Argv<GlobalOptions>) {
  return y
    .positional('panel', { type: 'string', demandOption: true, describe: 'panel store folder' })
    .option('seed', { type: 'number', default: 0, describe: 'seed of the assignment (a worker\'s split depends on its id and the seed only)' })
    .option('fractions', { type: 'string', default: '70,10,20', describe: 'TRAIN,VALID,TEST proportions' })
    .option('reassign', { type: 'boolean', default: false, describe: 'assign every worker afresh (default: keep existing splits, assign the rest)' })
    .option('write', { type: 'boolean', default: false, describe: 'store the membership in the panel store (default: only show it)' })
    .option('list', { type: 'boolean', default: false, describe: 'print each worker id and its split' })
    .example('$0 data split panels/psid --write', 'give every worker without a split one (70/10/20, seed 0) and save')
    .example('$0 data split panels/psid --reassign --seed 3 --fractions 80,10,10 --list', 'preview another split');
}

const splitCommand: CommandModule<GlobalOptions, ArgsOf<typeof splitBuilder>> = {
  command: 'split <panel>',
  describe: 'assign or show train/valid/test membership (worker-level, seeded, stable when workers are added)',
  builder: splitBuilder,
  handler: async (args) => {
    const store = await readPanelDir(args.panel);
    const seed = integer('seed', args.seed);
    const fractions = parseFractions(args.fractions);
    const before = splitSummary(store.panel, store.splits);
    const { splits, assigned } = completeSplits(store.panel, store.splits, { seed, fractions, reassign: args.reassign });
    const changed = store.panel.workers.filter((w) => store.splits.get(w.id) !== splits.get(w.id)).length;
    if (args.write && changed > 0) {
      const source = { ...store.meta.source, split: { seed, fractions: { ...fractions }, reassign: args.reassign } };
      await writePanelDir(args.panel, { panel: store.panel, splits, taxonomy: store.taxonomy, source }, { overwrite: true });
    }
    const after = splitSummary(store.panel, splits);
    const result = {
      command: 'data split',
      panel: args.panel,
      seed,
      fractions,
      defaultFractions: fractions.train === DEFAULT_FRACTIONS.train && fractions.valid === DEFAULT_FRACTIONS.valid,
      before,
      after,
      assigned,
      changed,
      written: args.write && changed > 0,
      ...(args.list ? { membership: Object.fromEntries(store.panel.workers.map((w) => [w.id, splits.get(w.id) as SplitName])) } : {}),
    };
    if (args.json) return printJson(result);
    const out: string[] = [];
    if (args.list) for (const w of store.panel.workers) out.push(`${w.id}\t${splits.get(w.id) as string}`);
    out.push(
      `${fmtCounts(after)} (${assigned} assigned, ${changed} changed)${args.write ? (changed > 0 ? `; saved in ${args.panel}` : '; nothing to save') : '; not saved (use --write)'}`,
    );
    process.stdout.write(`${out.join('\n')}\n`);
  },
};

// ---------------------------------------------------------------------------------------------- render

function templateFor(name: string, store: PanelStore, taxonomy: Taxonomy, k: number | undefined, seed: number | undefined): Template {
  const pool = store.panel.workers.filter((w) => store.splits.get(w.id) === 'train');
  if (needsExamplePool(name) && pool.length === 0) {
    throw new InputError(`template "${name}" draws examples from the training split, which is empty: run "data split --write" first`);
  }
  return getTemplate(name, { taxonomy, icl: { pool, k, seed } });
}

function renderBuilder(y: Argv<GlobalOptions>) {
  return y
    .positional('panel', { type: 'string', demandOption: true, describe: 'panel store folder' })
    .option('template', { choices: TEMPLATE_NAMES, default: 'resume' as const, describe: 'template variant' })
    .option('split', { choices: ['all', ...SPLIT_NAMES] as const, default: 'all' as const, describe: 'which workers' })
    .option('worker', { type: 'string', array: true, describe: 'only these worker ids' })
    .option('limit', { type: 'number', describe: 'at most this many workers' })
    .option('prompts', { type: 'boolean', default: false, describe: 'print the prediction prompt of every record (the first included) instead of whole texts' })
    .option('numbered-seed', { type: 'number', describe: 'titles of the numbered taxonomy variant with this seed' })
    .option('k', { type: 'number', describe: `icl, icl-titles: number of example workers (default ${ICL_DEFAULT_K})` })
    .option('icl-seed', { type: 'number', describe: 'icl, icl-titles: seed of the example draw (default 0)' })
    .option('out', { type: 'string', describe: 'write the texts to this file instead of stdout' })
    .option('force', { type: 'boolean', default: false, describe: 'replace an existing --out file' })
    .example('$0 data render panels/nlsy79 --template resume --split test --limit 2', 'two test resumes')
    .example('$0 data render panels/nlsy79 --template off-the-shelf --prompts --worker 1234', "one worker's prediction prompts");
}

const renderCommand: CommandModule<GlobalOptions, ArgsOf<typeof renderBuilder>> = {
  command: 'render <panel>',
  describe: "print (or write) the texts a template makes of a panel's workers",
  builder: renderBuilder,
  handler: async (args) => {
    const name = oneOf('template', args.template, TEMPLATE_NAMES);
    const store = await readPanelDir(args.panel);
    const taxonomy = args.numberedSeed === undefined ? store.taxonomy : numberTaxonomy(store.taxonomy, integer('numbered-seed', args.numberedSeed));
    const template = templateFor(name, store, taxonomy, args.k, args.iclSeed);
    let workers = workersOf(store, args.split);
    if (args.worker !== undefined) {
      const wanted = new Set(args.worker.map(String));
      const known = new Set(store.panel.workers.map((w) => w.id));
      const unknown = [...wanted].filter((id) => !known.has(id));
      if (unknown.length > 0) throw new InputError(`no worker with id ${unknown.map((u) => `"${u}"`).join(', ')} in ${args.panel}`);
      workers = workers.filter((w) => wanted.has(w.id));
    }
    if (args.limit !== undefined) workers = workers.slice(0, integer('limit', args.limit, 0));

    let text: string;
    let items: { workerId: string; index?: number; year?: number; code?: string; title?: string; text: string }[];
    if (args.prompts) {
      items = workers.flatMap((w) =>
        template.prompts(w).map((p) => ({ workerId: p.workerId, index: p.index, year: p.year, code: p.code, title: p.title, text: p.prompt })),
      );
      text = items.map((p) => `### worker ${p.workerId}, record ${p.index} (${p.year}), true title: ${p.title}\n${p.text}\n`).join('\n');
    } else {
      items = workers.map((w) => ({ workerId: w.id, text: template.render(w).text }));
      // One blank line between texts, whatever each template ends with.
      text = items.map((r) => (r.text.endsWith('\n') ? r.text : `${r.text}\n`)).join('\n');
    }
    const summary = { command: 'data render', panel: args.panel, template: name, split: args.split, workers: workers.length, texts: items.length };
    if (args.out !== undefined) {
      await writeFileAtomic(args.out, (tmp) => writeFile(tmp, text), { overwrite: args.force, inputs: [args.panel] });
      const result = { ...summary, out: args.out, bytes: Buffer.byteLength(text) };
      if (args.json) return printJson(result);
      process.stdout.write(`wrote ${items.length} texts (${result.bytes} bytes) to ${args.out}\n`);
      return;
    }
    if (args.json) return printJson({ ...summary, items });
    process.stdout.write(text);
  },
};

// -------------------------------------------------------------------------------------------- training

const TRAINING_CHOICES = ['together', 'openai', 'openai-chat', 'text'] as const;

function trainingBuilder(y: Argv<GlobalOptions>) {
  return y
    .positional('panel', { type: 'string', demandOption: true, describe: 'panel store folder' })
    .option('format', { choices: TRAINING_CHOICES, demandOption: true, describe: 'together: {"text"} JSONL; openai: chat JSONL; text: plain' })
    .option('out', { type: 'string', demandOption: true, describe: 'training file to write' })
    .option('split', { choices: ['all', ...SPLIT_NAMES] as const, default: 'train' as const, describe: 'which workers' })
    .option('template', { choices: TEMPLATE_NAMES, default: 'resume' as const, describe: 'template variant' })
    .option('mode', { choices: ['resume', 'transitions'] as const, default: 'resume' as const, describe: 'one example per worker, or per transition' })
    .option('numbered-seed', { type: 'number', describe: 'titles of the numbered taxonomy variant with this seed' })
    .option('system-prompt', { type: 'string', describe: 'openai: the system message' })
    .option('force', { type: 'boolean', default: false, describe: 'replace an existing --out file' })
    .example('$0 data training panels/nlsy79 --format together --out train.jsonl', 'Together AI fine-tuning file of the training split')
    .example('$0 data training panels/nlsy79 --format openai --split valid --out valid.jsonl', 'OpenAI chat format, validation split');
}

const trainingCommand: CommandModule<GlobalOptions, ArgsOf<typeof trainingBuilder>> = {
  command: 'training <panel>',
  describe: 'write fine-tuning files (Together, OpenAI chat, plain text) and report their sizes and token counts',
  builder: trainingBuilder,
  handler: async (args) => {
    const choice = oneOf('format', args.format, TRAINING_CHOICES);
    const format: TrainingFormat = choice === 'openai' ? 'openai-chat' : choice;
    if (!(TRAINING_FORMATS as readonly string[]).includes(format)) throw new InputError(`unknown training format ${format}`);
    const name = oneOf('template', args.template, TEMPLATE_NAMES);
    const mode = oneOf('mode', args.mode, ['resume', 'transitions'] as const);
    const store = await readPanelDir(args.panel);
    const taxonomy = args.numberedSeed === undefined ? store.taxonomy : numberTaxonomy(store.taxonomy, integer('numbered-seed', args.numberedSeed));
    const template = templateFor(name, store, taxonomy, undefined, undefined);
    const workers = workersOf(store, args.split);
    if (workers.length === 0) throw new InputError(`the ${args.split} split of ${args.panel} has no workers`);
    const file = formatTrainingFile(trainingExamples(workers, template, mode), format, { systemPrompt: args.systemPrompt });
    await writeFileAtomic(args.out, (tmp) => writeFile(tmp, file.content), { overwrite: args.force, inputs: [args.panel] });
    const result = { command: 'data training', panel: args.panel, out: args.out, split: args.split, template: name, mode, workers: workers.length, ...file.report };
    if (args.json) return printJson(result);
    process.stdout.write(
      `wrote ${file.report.examples} ${format} examples (${workers.length} workers, ${args.split}) to ${args.out}: ` +
        `${file.report.bytes} bytes, ${file.report.tokens} tokens (${file.report.tokenizer})\n`,
    );
  },
};

export const dataCommand: CommandModule<object, GlobalOptions> = {
  command: 'data <command>',
  describe: 'panels in and out: import, export, synth, split, render, training, mix, randomize',
  // --json and --quiet are declared globally in src/cli/main.ts.
  builder: (y: Argv<object>) =>
    (y as Argv<GlobalOptions>)
      .command(importCommand)
      .command(exportCommand)
      .command(synthCommand)
      .command(splitCommand)
      .command(renderCommand)
      .command(trainingCommand)
      .command(mixCommand)
      .command(randomizeCommand)
      .demandCommand(1, 'name a data subcommand: import, export, synth, split, render, training, mix or randomize')
      .example('$0 data synth --profile nlsy79 --workers 200 --seed 1 --out panels/s', 'a synthetic panel')
      .example('$0 data render panels/s --template resume --limit 1', 'its first resume'),
  handler: () => undefined,
};
