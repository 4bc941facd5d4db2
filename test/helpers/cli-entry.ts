/**
 * The CLI as a script for tests that need a real child process (kill/resume): `node --import tsx
 * test/helpers/cli-entry.ts eval ...` runs src/cli/main.ts without a build.
 */
import { main } from '../../src/cli/main.js';

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
