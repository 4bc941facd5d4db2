/**
 * Shared output conventions for CLI commands: `--json` prints one JSON document on stdout and
 * nothing else there; human text goes to stdout; progress and logs go to stderr (silenced by
 * `--quiet`).
 */
export interface GlobalOptions {
  json: boolean;
  quiet: boolean;
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function log(opts: GlobalOptions, message: string): void {
  if (!opts.quiet) process.stderr.write(`${message}\n`);
}
