/**
 * `labor-llm model`: make seeded test models (`model tiny`), summarize GGUF files (`model info`) and
 * convert Hugging Face checkpoints and LoRA adapters (`model convert`, in model-convert.ts).
 */
import type { Argv, CommandModule } from 'yargs';
import { InputError, ModelError } from '../../errors.js';
import {
  TINY_PRESETS,
  VOCABS,
  checkGguf,
  verdictError,
  describeValue,
  isVocabName,
  getArrayLength,
  llamaShapeOf,
  parameterCount,
  readGguf,
  valueToJson,
  writeTinyLlama,
  type GgufFile,
  type GgufVerdict,
  type LlamaShape,
  type TinyPreset,
} from '../../models/gguf/index.js';
import { type ArgsOf, formatBytes } from '../args.js';
import { log, printJson, type GlobalOptions } from '../output.js';
import { convertCommand } from './model-convert.js';

function describeShape(s: LlamaShape): string {
  return (
    `n_embd ${s.nEmbd}, ${s.nLayer} layers, heads ${s.nHead}/${s.nHeadKv} (q/kv), ff ${s.nFf}, ` +
    `context ${s.nCtx}, vocab ${s.nVocab}`
  );
}

function positiveInt(name: string, v: number | undefined): void {
  if (v !== undefined && (!Number.isInteger(v) || v < 1)) {
    throw new InputError(`--${name} must be a positive integer, got ${v}`);
  }
}

function tinyBuilder(y: Argv<GlobalOptions>) {
  return y
      .option('vocab', {
        choices: VOCABS,
        demandOption: true,
        describe: 'tokenizer: llama-spm (Llama-2, 32k SentencePiece) or llama-bpe (Llama-3, 128k BPE)',
      })
      .option('seed', { type: 'number', default: 1, describe: 'PRNG seed; the same seed gives the same file' })
      .option('out', { type: 'string', demandOption: true, describe: 'output GGUF path' })
      .option('preset', {
        choices: TINY_PRESETS,
        default: 'tiny' as TinyPreset,
        describe: 'tiny: n_embd 64, 2 layers, f32; 170m: n_embd 768, 12 layers, f16 (benchmarks)',
      })
      .option('type', { choices: ['f32', 'f16'] as const, describe: 'weight storage type (default: the preset\'s)' })
      .option('n-embd', { type: 'number', describe: 'override the embedding width' })
      .option('n-layer', { type: 'number', describe: 'override the number of layers' })
      .option('n-head', { type: 'number', describe: 'override the number of attention heads' })
      .option('n-head-kv', { type: 'number', describe: 'override the number of key/value heads' })
      .option('n-ff', { type: 'number', describe: 'override the feed-forward width' })
      .option('n-ctx', { type: 'number', describe: 'override the training context length' })
      .option('init-scale', { type: 'number', default: 1, describe: 'multiplies every weight\'s standard deviation' })
      .example('$0 model tiny --vocab llama-spm --seed 1 --out tiny.gguf', 'a 4M-parameter model with the Llama-2 tokenizer')
      .example('$0 model tiny --vocab llama-spm --preset 170m --out bench.gguf', 'a 162M-parameter f16 model for benchmarks');
}

const tinyCommand: CommandModule<GlobalOptions, ArgsOf<typeof tinyBuilder>> = {
  command: 'tiny',
  describe: 'write a small llama model with seeded random weights and a real tokenizer',
  builder: tinyBuilder,
  handler: async (args) => {
    // Re-checked here because a yargs validation failure does not stop the handler under main's .fail().
    if (!isVocabName(String(args.vocab))) throw new InputError(`--vocab must be one of ${VOCABS.join(', ')}`);
    if (!(TINY_PRESETS as readonly string[]).includes(String(args.preset))) {
      throw new InputError(`--preset must be one of ${TINY_PRESETS.join(', ')}`);
    }
    if (args.type !== undefined && args.type !== 'f32' && args.type !== 'f16') throw new InputError('--type must be f32 or f16');
    if (typeof args.out !== 'string' || args.out === '') throw new InputError('--out is required');
    if (!Number.isInteger(args.seed) || args.seed < 0 || args.seed > 0xffffffff) {
      throw new InputError(`--seed must be an integer in [0, 4294967295], got ${args.seed}`);
    }
    positiveInt('n-embd', args.nEmbd);
    positiveInt('n-layer', args.nLayer);
    positiveInt('n-head', args.nHead);
    positiveInt('n-head-kv', args.nHeadKv);
    positiveInt('n-ff', args.nFf);
    positiveInt('n-ctx', args.nCtx);
    log(args, `writing ${args.out} (${args.preset}, ${args.vocab}, seed ${args.seed})...`);
    const r = await writeTinyLlama({
      vocab: args.vocab,
      seed: args.seed,
      out: args.out,
      preset: args.preset,
      type: args.type,
      nEmbd: args.nEmbd,
      nLayer: args.nLayer,
      nHead: args.nHead,
      nHeadKv: args.nHeadKv,
      nFf: args.nFf,
      nCtx: args.nCtx,
      initScale: args.initScale,
    });
    if (args.json) {
      printJson({
        path: r.path,
        vocab: r.vocab,
        seed: r.seed,
        preset: r.preset,
        type: r.type,
        shape: r.shape,
        tensorCount: r.tensorCount,
        parameterCount: r.parameterCount,
        bytes: r.bytes,
        seconds: Number(r.seconds.toFixed(3)),
      });
      return;
    }
    process.stdout.write(
      `wrote ${r.path}: llama, ${describeShape(r.shape)}; ${r.type}, ` +
        `${r.parameterCount.toLocaleString('en-US')} parameters, ${formatBytes(r.bytes)} in ${r.seconds.toFixed(2)} s\n`,
    );
  },
};

/** The llama shape, or why it cannot be read (info is a diagnostic tool: it reports, it does not fail). */
function llamaSummary(file: GgufFile, architecture: string | null): { llama: LlamaShape | null; llamaError?: string } {
  if (architecture !== 'llama' || file.tensors.length === 0) return { llama: null };
  try {
    return { llama: llamaShapeOf(file) };
  } catch (err) {
    if (err instanceof ModelError) return { llama: null, llamaError: err.message };
    throw err;
  }
}

function summarize(file: GgufFile): Record<string, unknown> {
  const m = file.metadata;
  const str = (k: string): string | null => {
    const v = m.get(k);
    return v?.type === 'string' ? v.value : null;
  };
  const typeCounts: Record<string, number> = {};
  for (const t of file.tensors) typeCounts[t.type] = (typeCounts[t.type] ?? 0) + 1;
  const architecture = str('general.architecture');
  return {
    path: file.path,
    version: file.version,
    fileSize: file.fileSize,
    alignment: file.alignment,
    dataOffset: file.dataOffset,
    architecture,
    name: str('general.name'),
    ...llamaSummary(file, architecture),
    tokenizer: m.has('tokenizer.ggml.tokens')
      ? {
          model: str('tokenizer.ggml.model'),
          pre: str('tokenizer.ggml.pre'),
          tokens: getArrayLength(m, 'tokenizer.ggml.tokens', file.path),
        }
      : null,
    // The verdict Model.load gives before llama.cpp sees the file (src/models/gguf/validate.ts).
    engine: checkGguf(file),
    tensorCount: file.tensors.length,
    parameterCount: parameterCount(file),
    tensorTypes: typeCounts,
    metadata: Object.fromEntries([...m].map(([k, v]) => [k, valueToJson(v)])),
    tensors: file.tensors.map((t) => ({ name: t.name, dims: t.dims, type: t.type, offset: t.offset })),
  };
}

function infoBuilder(y: Argv<GlobalOptions>) {
  return y
      .positional('file', { type: 'string', demandOption: true, describe: 'GGUF file' })
      .option('tensors', { type: 'boolean', default: false, describe: 'list every tensor (always in --json)' })
      .example('$0 model info tiny.gguf', 'architecture, shape, tokenizer and parameter count')
      .example('$0 model info tiny.gguf --json', 'the same, with every metadata key and tensor, as JSON');
}

const infoCommand: CommandModule<GlobalOptions, ArgsOf<typeof infoBuilder>> = {
  command: 'info <file>',
  describe: 'summarize a GGUF file: metadata, tensor count, parameter count',
  builder: infoBuilder,
  handler: async (args) => {
    if (typeof args.file !== 'string' || args.file === '') throw new InputError('name a GGUF file');
    const file = await readGguf(args.file);
    const s = summarize(file);
    const verdict = s.engine as GgufVerdict;
    // The summary is printed either way; a file the engine refuses then fails like a load would (exit 4).
    const refuse = (): void => {
      if (!verdict.ok) throw verdictError(file.path, verdict);
    };
    if (args.json) {
      printJson(s);
      refuse();
      return;
    }
    const lines = [
      `${file.path}: GGUF v${file.version}, ${formatBytes(file.fileSize)}`,
      `  architecture  ${s.architecture ?? '(none)'}${s.name ? ` (${String(s.name)})` : ''}`,
    ];
    if (s.llama) lines.push(`  shape         ${describeShape(s.llama as LlamaShape)}`);
    if (s.llamaError) lines.push(`  shape         unreadable: ${String(s.llamaError)}`);
    const tok = s.tokenizer as { model: string | null; pre: string | null; tokens: number } | null;
    if (tok) lines.push(`  tokenizer     ${tok.model ?? '?'}${tok.pre ? ` / ${tok.pre}` : ''}, ${tok.tokens} tokens`);
    const types = Object.entries(s.tensorTypes as Record<string, number>)
      .map(([t, n]) => `${n} ${t}`)
      .join(', ');
    lines.push(`  tensors       ${file.tensors.length}${types ? ` (${types})` : ''}`);
    lines.push(`  parameters    ${parameterCount(file).toLocaleString('en-US')}`);
    lines.push(`  metadata      ${file.metadata.size} keys`);
    for (const [k, v] of file.metadata) lines.push(`    ${k} = ${describeValue(v)}`);
    if (args.tensors) {
      lines.push('  tensor list');
      for (const t of file.tensors) lines.push(`    ${t.name}  ${t.type}  [${t.dims.join(', ')}]`);
    }
    lines.push(`  engine        ${verdict.ok ? 'loads it' : `refuses it: ${verdict.problems.join('; ')}`}`);
    process.stdout.write(`${lines.join('\n')}\n`);
    refuse();
  },
};

export const modelCommand: CommandModule<object, GlobalOptions> = {
  command: 'model <command>',
  describe: 'make test models, inspect GGUF files, convert Hugging Face checkpoints',
  // --json and --quiet are declared globally in src/cli/main.ts.
  builder: (y: Argv<object>) =>
    (y as Argv<GlobalOptions>)
      .command(tinyCommand)
      .command(infoCommand)
      .command(convertCommand)
      .demandCommand(1, 'name a model subcommand: tiny, info or convert')
      .example('$0 model tiny --vocab llama-bpe --seed 7 --out tiny-bpe.gguf', 'a test model with the Llama-3 tokenizer')
      .example('$0 model info tiny-bpe.gguf', 'what is in it'),
  handler: () => undefined,
};
