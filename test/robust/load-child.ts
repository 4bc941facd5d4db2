/**
 * Loads each GGUF named on the command line with the engine and scores one prompt, in a child process
 * of its own, so that an abort inside llama.cpp is a failed test instead of a crashed suite. Prints one
 * line per file: `start I`, then `exit I CODE MESSAGE` with the exit code the CLI would give.
 * `node --import tsx test/robust/load-child.ts a.gguf b.gguf ...`
 */
import { Model } from '../../src/engine/model.js';
import { EXIT_CODES, LaborLlmError } from '../../src/errors.js';

for (const [i, file] of process.argv.slice(2).entries()) {
  process.stdout.write(`start ${i}\n`);
  let code = 0;
  let message = 'ok';
  try {
    const model = await Model.load(file, { threads: 1, contextSize: 64, batchSize: 64 });
    try {
      const set = await model.titleSet(['Nurse', 'Teacher']);
      await model.scoreTitles('Occupation:', set);
    } finally {
      await model.free();
    }
  } catch (err) {
    code = err instanceof LaborLlmError ? EXIT_CODES[err.code] : EXIT_CODES.UNEXPECTED;
    message = err instanceof Error ? err.message : String(err);
  }
  process.stdout.write(`exit ${i} ${code} ${message.replace(/\s+/g, ' ')}\n`);
}
