/**
 * `labor-llm merge OUT SHARD...`: combines the stores of a sharded evaluation (one per Slurm job) into one.
 */
import type { Argv, CommandModule } from 'yargs';
import { mergeStores } from '../../results/merge.js';
import { printJson, type GlobalOptions } from '../output.js';

interface MergeArgs extends GlobalOptions {
  out: string;
  shards: string[];
  force: boolean;
  allowIncomplete: boolean;
}

export const mergeCommand: CommandModule<GlobalOptions, MergeArgs> = {
  command: 'merge <out> <shards..>',
  describe: 'merge the results stores of shards (eval --shard i/n) into one store',
  builder: (y: Argv<GlobalOptions>) =>
    y
      .positional('out', { type: 'string', demandOption: true, describe: 'results store to write' })
      .positional('shards', { type: 'string', array: true, demandOption: true, describe: 'shard stores' })
      .option('force', { type: 'boolean', default: false, describe: 'replace OUT if it exists' })
      .option('allow-incomplete', {
        type: 'boolean',
        default: false,
        describe: 'merge shards whose runs are unfinished or missing (refused by default: finish them first)',
      })
      .example('$0 merge results.duckdb results.shard-*-of-8.duckdb', 'one store from 8 shards') as unknown as Argv<MergeArgs>, // yargs adds the camelCase keys at run time; its types do not
  handler: async (args) => {
    const report = await mergeStores(args.out, args.shards, { overwrite: args.force, allowIncomplete: args.allowIncomplete });
    if (args.json) {
      printJson(report);
      return;
    }
    const cover = report.shards.count === 1 ? 'all shards' : `shards ${report.shards.indices.join(',')} of ${report.shards.count}`;
    const lines = [`${report.out}: ${report.inputs.length} stores merged, ${report.workers} workers (${cover})`];
    for (const r of report.runs) {
      lines.push(
        `  run "${r.run}": ${r.workersDone}/${r.workersTotal} workers, ${r.transitionsDone}/${r.transitionsTotal} transitions${r.complete ? '' : ' (incomplete)'}`,
      );
    }
    process.stdout.write(`${lines.join('\n')}\n`);
  },
};
