/**
 * `labor-llm score`: every title's log-probability after one prompt, from the trie engine.
 */
import { decodeUtf8 } from '../../data/io/text-file.js';
import { readFileSync } from 'node:fs';
import type { Argv, CommandModule } from 'yargs';
import { InputError, NotFoundError } from '../../errors.js';
import { Model } from '../../engine/model.js';
import { checkTitlesExpressible } from '../../eval/llm.js';
import { loadTaxonomy } from '../../data/taxonomy/taxonomy.js';
import { LORA_OPTION, parseLoraOption } from '../lora-option.js';
import { log, printJson, type GlobalOptions } from '../output.js';

interface ScoreArgs extends GlobalOptions {
  model: string;
  promptFile: string;
  titles: string;
  threads: number | undefined;
  contextSize: number;
  batchSize: number;
  gpuLayers: number;
  flashAttention: 'auto' | 'on' | 'off';
  kvCache: 'f16' | 'f32';
  top: number | undefined;
  mode: 'trie' | 'bounded' | 'sequential' | 'reference';
  topK: number;
  tolerance: number;
  lora: string[] | undefined;
}

function readPrompt(file: string): string {
  let bytes: Buffer;
  try {
    bytes = file === '-' ? readFileSync(0) : readFileSync(file);
  } catch (err) {
    throw new NotFoundError(`cannot read the prompt file ${file}: ${(err as Error).message}`);
  }
  // Invalid UTF-8 is an error naming the place, as in panel files (not silently replaced).
  let text = decodeUtf8(bytes, file === '-' ? '(stdin)' : file);
  // Editors add a final newline; a prompt ends right before the title's leading space.
  if (text.endsWith('\n')) text = text.replace(/\r?\n$/, '');
  if (text.length === 0) throw new InputError('the prompt is empty', { file });
  return text;
}

export const scoreCommand: CommandModule<GlobalOptions, ScoreArgs> = {
  command: 'score',
  describe: 'score every title of a taxonomy after one prompt (raw and normalized log-probs)',
  builder: (y: Argv<GlobalOptions>) =>
    y
      .option('model', { type: 'string', demandOption: true, describe: 'GGUF model file' })
      .option('prompt-file', {
        type: 'string',
        demandOption: true,
        describe: 'text file with the prompt, ending where the title begins (one final newline is dropped); - for stdin',
      })
      .option('titles', {
        type: 'string',
        default: 'occ1990dd',
        describe: 'occ1990dd, soc2018 or a CSV file with code,title columns',
      })
      .option('threads', { type: 'number', describe: 'CPU threads (default: all cores)' })
      .option('context-size', { type: 'number', default: 4096, describe: 'KV cache cells (prompt + one trie chunk)' })
      .option('batch-size', { type: 'number', default: 256, describe: 'tokens per llama_decode (trie chunk size)' })
      .option('gpu-layers', { type: 'number', default: 0, describe: 'layers to offload on a GPU build (-1: all)' })
      .option('flash-attention', { choices: ['auto', 'on', 'off'] as const, default: 'off' as const })
      .option('kv-cache', { choices: ['f16', 'f32'] as const, default: 'f32' as const, describe: 'KV cache precision' })
      .option('mode', {
        choices: ['trie', 'bounded', 'sequential', 'reference'] as const,
        default: 'trie' as const,
        describe:
          'trie (the engine), bounded (best-first: exact top-k, total within --tolerance), sequential (prompt cached, ' +
          'titles one by one) or reference (each title from scratch)',
      })
      .option('top-k', { type: 'number', default: 5, describe: 'bounded mode: titles that must be exact' })
      .option('tolerance', { type: 'number', default: 1e-3, describe: 'bounded mode: nats of uncertainty left in the total' })
      .option('top', { type: 'number', describe: 'print only the N most probable titles (all are scored)' })
      .option('lora', LORA_OPTION)
      .example('$0 score --model tiny.gguf --prompt-file prompt.txt', 'all 334 occ1990dd titles, best first')
      .example('$0 score --model m.gguf --prompt-file p.txt --titles soc2018 --json', 'SOC 2018 titles as JSON')
      .example('$0 score --model m.gguf --prompt-file p.txt --mode bounded --top-k 10', 'exact top 10 with fewer evaluations') as unknown as Argv<ScoreArgs>,
  handler: async (args) => {
    const taxonomy = loadTaxonomy(args.titles);
    const prompt = readPrompt(args.promptFile);
    const started = performance.now();
    const model = await Model.load(args.model, {
      threads: args.threads,
      contextSize: args.contextSize,
      batchSize: args.batchSize,
      gpuLayers: args.gpuLayers,
      flashAttention: args.flashAttention,
      kvCache: args.kvCache,
      lora: parseLoraOption(args.lora),
    });
    try {
      // The same refusal as eval: a vocabulary that cannot write a title back would score other text.
      checkTitlesExpressible(model, taxonomy.titles());
      const set = await model.titleSet(taxonomy.titles());
      const t0 = performance.now();
      const scores = await model.scoreTitles(prompt, set, { mode: args.mode, topK: args.topK, tolerance: args.tolerance });
      const ms = performance.now() - t0;
      const norm = scores.normalizedLogProbs();
      const order = scores.ranking();
      const shown = args.top !== undefined ? order.slice(0, Math.max(0, args.top)) : order;
      const codes = taxonomy.codes();
      if (args.json) {
        printJson({
          model: args.model,
          taxonomy: taxonomy.name,
          mode: args.mode,
          logTotal: scores.logTotal,
          logTotalUpper: scores.logTotalUpper,
          probabilityOnTitles: Math.exp(scores.logTotal),
          stats: { ...scores.stats, msScore: ms, msTotal: performance.now() - started },
          titles: shown.map((i, rank) => ({
            rank: rank + 1,
            code: codes[i],
            title: set.titles[i],
            logProb: scores.logProbs[i],
            normalizedLogProb: norm[i],
            probability: Math.exp(norm[i]!),
          })),
        });
        return;
      }
      const lines = [`rank\tcode\traw_logprob\tnorm_logprob\tprob\ttitle`];
      shown.forEach((i, rank) => {
        lines.push(
          `${rank + 1}\t${codes[i]}\t${scores.logProbs[i]!.toFixed(4)}\t${norm[i]!.toFixed(4)}\t${Math.exp(norm[i]!).toFixed(5)}\t${set.titles[i]}`,
        );
      });
      process.stdout.write(`${lines.join('\n')}\n`);
      const s = scores.stats;
      log(
        args,
        `${set.size} titles scored in ${ms.toFixed(0)} ms: probability on the title set ${Math.exp(scores.logTotal).toExponential(3)}; ` +
          `prompt ${s.promptTokens} tokens (${s.promptTokensEvaluated} evaluated), trie ${s.trieNodes} nodes of which ${s.internalNodes} internal; ` +
          `evaluated ${s.evaluatedTokens} tokens in ${s.decodeCalls} decode calls`,
      );
    } finally {
      await model.free();
    }
  },
};
