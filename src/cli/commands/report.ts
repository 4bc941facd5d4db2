/**
 * `labor-llm report STORE...`: paper-style tables (perplexity with bootstrap SEs, differences against a
 * reference, accuracy, binary tasks) as Markdown or JSON, or one self-contained HTML page with plots.
 */
import { writeFile } from 'node:fs/promises';
import type { Argv, CommandModule } from 'yargs';
import { InputError, NotFoundError } from '../../errors.js';
import { buildReport } from '../../report/build.js';
import { sampleWorkersFromStores, writeHtmlReport, type SampleWorker, type StoreSampleOptions } from '../../report/html/index.js';
import { renderMarkdown } from '../../report/markdown.js';
import { renderPaperTables } from '../../report/paper.js';
import type { ReportOptions } from '../../report/types.js';
import { exportResults } from '../../results/export.js';
import { checkOutputPath, sameFile } from '../../data/io/same-file.js';
import { integer } from '../args.js';
import { log, printJson, type GlobalOptions } from '../output.js';

interface ReportArgs extends GlobalOptions {
  stores: string[];
  reference: string | undefined;
  format: 'md' | 'json' | 'html';
  layout: 'default' | 'paper';
  samples: number;
  panel: string | undefined;
  bootstrap: number;
  seed: number;
  variant: 'normalized' | 'raw';
  runs: string | undefined;
  allowPartial: boolean;
  transitionsOnly: boolean;
  out: string | undefined;
  export: string | undefined;
  force: boolean;
}

export const reportCommand: CommandModule<GlobalOptions, ReportArgs> = {
  command: 'report <stores..>',
  describe: 'paper-style tables from results stores (perplexity with bootstrap SEs, differences, accuracy, binary tasks), or an HTML page with plots',
  builder: (y: Argv<GlobalOptions>) =>
    y
      .positional('stores', { type: 'string', array: true, demandOption: true, describe: 'results stores (eval --out)' })
      .option('reference', { type: 'string', describe: 'run the differences are taken against, written reference minus run as the paper (default: the first baseline run)' })
      .option('format', {
        choices: ['md', 'json', 'html'] as const,
        default: 'md' as const,
        describe: 'Markdown tables, the JSON data, or one self-contained HTML page with plots (needs --out)',
      })
      .option('layout', {
        choices: ['default', 'paper'] as const,
        default: 'default' as const,
        describe: "md: every table, or the paper's tables (Table 6's form: records per dataset, perplexity (SE), PPL(reference)-PPL(run); the off-the-shelf/ICL form)",
      })
      .option('samples', { type: 'number', default: 3, describe: 'html: sample workers shown with their top predicted titles (0: none)' })
      .option('panel', { type: 'string', describe: 'html: panel store of the sample workers (default: the one eval recorded in the store)' })
      .option('bootstrap', { type: 'number', default: 1000, describe: 'worker-level bootstrap draws B' })
      .option('seed', { type: 'number', default: 0, describe: 'bootstrap seed' })
      .option('variant', {
        choices: ['raw', 'normalized'] as const,
        default: 'raw' as const,
        describe: "the leading perplexity and the differences: raw (the paper's: product of the title's token probabilities) or normalized over the titles; the other is shown beside it",
      })
      .option('runs', { type: 'string', describe: 'comma-separated run names to report, in this order (default: all)' })
      .option('allow-partial', { type: 'boolean', default: false, describe: 'report incomplete runs (differences on common transitions)' })
      .option('transitions-only', {
        type: 'boolean',
        default: false,
        describe: "only records 2..T of each worker (default: every record 1..T, the first included, as the paper's perplexity)",
      })
      .option('out', { type: 'string', describe: 'write the report to this file instead of stdout' })
      .option('export', { type: 'string', describe: 'also write every result row to this .parquet or .csv file' })
      .option('force', { type: 'boolean', default: false, describe: 'replace an existing --out or --export file (never an input store)' })
      .example('$0 report results.duckdb', 'Markdown tables of every run in the store')
      .example('$0 report psid.duckdb nlsy79.duckdb --reference ft-llama --bootstrap 2000 --seed 1', 'two datasets, differences from ft-llama')
      .example('$0 report psid.duckdb nlsy79.duckdb nlsy97.duckdb --layout paper --reference CAREER', "the paper's Table 6 form")
      .example('$0 report results.duckdb --format json --out report.json', 'the data behind the tables')
      .example('$0 report results.duckdb --format html --out report.html', 'plots and tables in one file that opens offline') as unknown as Argv<ReportArgs>, // yargs adds the camelCase keys at run time; its types do not
  handler: async (args) => {
    // Checked before the (slow) bootstrap so that a mistake costs nothing.
    const inputs = [...args.stores, ...(args.panel === undefined ? [] : [args.panel])];
    if (args.out !== undefined) checkOutputPath(args.out, inputs, { force: args.force, flag: '--out' });
    if (args.export !== undefined) checkOutputPath(args.export, inputs, { force: args.force, flag: '--export' });
    if (args.out !== undefined && args.export !== undefined && sameFile(args.out, args.export)) {
      throw new InputError('--out and --export name the same file', { file: args.out });
    }
    if (args.layout === 'paper' && args.format !== 'md') {
      throw new InputError(`--layout paper is a Markdown layout; use it with --format md, not ${args.format}`);
    }
    if (args.format === 'html') {
      if (args.out === undefined) {
        throw new InputError('--format html writes a file: name it with --out report.html');
      }
      integer('samples', args.samples, 0);
    }
    const opts: ReportOptions = {
      B: args.bootstrap,
      seed: args.seed,
      variant: args.variant,
      allowPartial: args.allowPartial,
      transitionsOnly: args.transitionsOnly,
    };
    if (args.reference !== undefined) opts.reference = args.reference;
    if (args.runs !== undefined) opts.runs = args.runs.split(',').map((s) => s.trim()).filter((s) => s !== '');
    const report = await buildReport(args.stores, opts);
    if (args.export !== undefined) {
      const rows = await exportResults(args.stores, args.export);
      log(args, `wrote ${rows} result rows to ${args.export}`);
    }
    if (args.format === 'html') {
      const out = args.out!;
      let samples: SampleWorker[] = [];
      if (args.samples > 0) {
        const sampleOpts: StoreSampleOptions = { count: args.samples };
        if (args.panel !== undefined) sampleOpts.panel = args.panel;
        try {
          samples = await sampleWorkersFromStores(report, sampleOpts);
        } catch (err) {
          // The sample workers need the panel the store was evaluated on, which may have moved since.
          if (err instanceof NotFoundError) {
            throw new NotFoundError(`${err.message} (sample workers: name the panel store with --panel DIR, or leave them out with --samples 0)`, { cause: err });
          }
          throw err;
        }
      }
      const written = await writeHtmlReport(report, out, { samples });
      if (args.json) {
        printJson({
          out,
          format: 'html',
          bytes: written.bytes,
          plots: written.plots,
          samples: samples.length,
          runs: report.runs.map((r) => r.name),
          datasets: report.datasets,
        });
      } else log(args, `wrote the HTML report to ${out} (${written.plots} plots); open it in a browser, it works offline`);
      return;
    }
    const asJson = args.json || args.format === 'json';
    const text = asJson ? `${JSON.stringify(report, null, 2)}\n` : args.layout === 'paper' ? renderPaperTables(report) : renderMarkdown(report);
    if (args.out !== undefined) {
      await writeFile(args.out, text);
      if (args.json) printJson({ out: args.out, runs: report.runs.map((r) => r.name), datasets: report.datasets });
      else log(args, `wrote the report to ${args.out}`);
      return;
    }
    if (asJson) printJson(report);
    else process.stdout.write(text);
  },
};
