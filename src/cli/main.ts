import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { EXIT_CODES, LaborLlmError } from '../errors.js';
import { commands } from './commands/index.js';
import { cliMessage } from './flags.js';

/** Runs the CLI and resolves to the process exit code (documented in the README). */
/** `--prompt-file -` as `--prompt-file=-`: yargs reads a lone "-" as a positional, not as the value. */
function stdinValues(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a.startsWith('--') && !a.includes('=') && argv[i + 1] === '-') {
      out.push(`${a}=-`);
      i++;
    } else out.push(a);
  }
  return out;
}

export async function main(argv: string[]): Promise<number> {
  let failure: unknown = null;
  const parser = yargs(hideBin(['node', 'labor-llm', ...stdinValues(argv)]))
    .scriptName('labor-llm')
    .usage('$0 <command> [options]\n\nOccupation models from large language models: score, evaluate, fine-tune, report.')
    .option('json', { type: 'boolean', default: false, describe: 'print one JSON document on stdout' })
    .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'no progress or logs on stderr' })
    .strict()
    // --help and --version print and return; main() never ends the process itself.
    .exitProcess(false)
    .demandCommand(1, 'name a command; see --help')
    .recommendCommands()
    .help()
    .alias('help', 'h')
    .version()
    .wrap(Math.min(110, process.stdout.columns ?? 110))
    .fail((msg, err) => {
      // Throwing stops yargs before the command's handler runs.
      throw err ?? new UsageError(msg);
    });
  for (const c of commands) parser.command(c);
  try {
    await parser.parseAsync();
  } catch (err) {
    failure = err;
  }
  if (failure === null) return 0;
  return reportFailure(failure);
}

class UsageError extends Error {}

function reportFailure(err: unknown): number {
  if (err instanceof UsageError) {
    process.stderr.write(`labor-llm: ${err.message}\nRun with --help for usage.\n`);
    return EXIT_CODES.INPUT;
  }
  if (err instanceof LaborLlmError) {
    process.stderr.write(`labor-llm: ${cliMessage(err)}\n`);
    return EXIT_CODES[err.code];
  }
  const e = err instanceof Error ? err : new Error(String(err));
  process.stderr.write(`labor-llm: unexpected error: ${e.stack ?? e.message}\n`);
  return EXIT_CODES.UNEXPECTED;
}
