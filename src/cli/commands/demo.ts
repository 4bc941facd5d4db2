/**
 * `labor-llm demo`: the method end to end on a synthetic panel, with no download: panel, training texts,
 * a tiny model fine-tuned locally, evaluation of it and the baselines, and the report (JSON, Markdown,
 * HTML). Progress with an ETA on stderr; Ctrl-C stops it cleanly (exit code 130).
 */
import { relative } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { DEMO_DEFAULTS, runDemo, type DemoResult, type ResolvedDemoOptions } from '../../demo/index.js';
import { formatEstimate } from '../../report/markdown.js';
import { PROFILE_NAMES } from '../../data/synth/index.js';
import { withInterrupt } from '../interrupt.js';
import { printJson, type GlobalOptions } from '../output.js';
import { createProgress, formatDuration } from '../progress.js';

/** The demo's options as its flags name them: the library's names, with --lr for learningRate. */
type DemoArgs = GlobalOptions & Omit<ResolvedDemoOptions, 'learningRate'> & { lr: number };

function shown(path: string): string {
  const r = relative(process.cwd(), path);
  return r === '' || r.startsWith('..') ? path : r;
}

function summary(r: DemoResult): string {
  const width = Math.max(...r.runs.map((x) => x.run.length), 3);
  const lines = [
    `labor-llm demo: ${r.panel.workers} synthetic ${r.options.profile.toUpperCase()} workers, ` +
      `${r.options.epochs} epoch(s) of local fine-tuning, done in ${formatDuration(r.seconds)}`,
    '',
    `test perplexity (${r.runs[0]?.transitions ?? 0} transitions of ${r.runs[0]?.workers ?? 0} workers; lower is better):`,
    ...r.runs.map((x) => `  ${x.run.padEnd(width)}  ${formatEstimate({ estimate: x.perplexity, se: x.se })}`),
    '  (standard errors in parentheses: worker-level bootstrap)',
    '',
    `report: ${shown(r.files.reportHtml)}  (open it in a browser; works offline)`,
    `        ${shown(r.files.reportMarkdown)}, ${shown(r.files.reportJson)}`,
    `results store: ${shown(r.files.results)}   models: ${shown(r.files.finetunedModel)}, ${shown(r.files.baseModel)}, ${shown(r.files.careerModel)}`,
  ];
  return `${lines.join('\n')}\n`;
}

export const demoCommand: CommandModule<GlobalOptions, DemoArgs> = {
  command: 'demo',
  describe: 'the method end to end on a synthetic panel: train a small language model and CAREER locally, evaluate them and the baselines, write the report',
  builder: (y: Argv<GlobalOptions>) =>
    y
      .option('out', { type: 'string', default: DEMO_DEFAULTS.out, describe: 'folder for the panel, models, results store and report' })
      .option('workers', { type: 'number', default: DEMO_DEFAULTS.workers, describe: 'workers of the synthetic panel (split 70/10/20)' })
      .option('epochs', { type: 'number', default: DEMO_DEFAULTS.epochs, describe: 'fine-tuning epochs' })
      .option('seed', { type: 'number', default: DEMO_DEFAULTS.seed, describe: 'seed of the panel, model weights, training order and bootstrap' })
      .option('profile', { choices: PROFILE_NAMES, default: DEMO_DEFAULTS.profile, describe: 'survey the synthetic panel imitates' })
      .option('test-workers', {
        type: 'number',
        default: DEMO_DEFAULTS.testWorkers,
        describe: 'score the first N test workers (0: all, about 1,000 at the default size; each costs 0.2-0.4 s per language model on 2 busy cores)',
      })
      .option('lr', { type: 'number', default: DEMO_DEFAULTS.learningRate, describe: 'fine-tuning peak learning rate (AdamW; warm-up, then cosine decay)' })
      .option('bootstrap', { type: 'number', default: DEMO_DEFAULTS.bootstrap, describe: 'bootstrap draws of the standard errors' })
      .option('threads', { type: 'number', describe: 'CPU threads (default: training on 1, evaluation on all cores)' })
      .option('force', { type: 'boolean', default: false, describe: "replace an earlier demo's outputs in --out" })
      .example('$0 demo', 'about 4 minutes on 2 cores (measured: 3 min 41 s at load 2); writes labor-llm-demo/report.html')
      .example('$0 demo --out /tmp/demo --workers 120 --epochs 1 --test-workers 10 --force', 'a quicker, smaller run')
      .example('$0 demo --json --quiet', 'the run summary (perplexities, files, timings) as JSON') as unknown as Argv<DemoArgs>,
  handler: async (args) => {
    const progress = createProgress(args);
    const result = await withInterrupt((signal) =>
      runDemo(
        {
          out: args.out,
          workers: args.workers,
          epochs: args.epochs,
          seed: args.seed,
          profile: args.profile,
          testWorkers: args.testWorkers,
          learningRate: args.lr,
          bootstrap: args.bootstrap,
          threads: args.threads,
          force: args.force,
        },
        { progress, signal },
      ),
    );
    if (args.json) printJson(result);
    else process.stdout.write(summary(result));
  },
};
