/**
 * `labor-llm model convert`: a Hugging Face llama checkpoint (directory or `finetune download`
 * archive) to a GGUF model, or a PEFT LoRA adapter to a GGUF adapter for a given base GGUF.
 */
import type { Argv, CommandModule } from 'yargs';
import { CONVERT_TYPES, convertCheckpoint, describeConversion } from '../../models/convert/index.js';
import { InputError } from '../../errors.js';
import type { WritableTensorType } from '../../models/gguf/types.js';
import type { ArgsOf } from '../args.js';
import { log, printJson, type GlobalOptions } from '../output.js';
import { createProgress } from '../progress.js';

/** The flags that choose how a checkpoint is converted (also on `finetune download --gguf`). */
export function conversionOptions<T>(y: Argv<T>) {
  return y
    .option('type', { choices: CONVERT_TYPES, describe: 'storage type of the converted weights (default f16 for models, f32 for adapters; norms stay f32)' })
    .option('base', { type: 'string', describe: 'LoRA adapters: the base model GGUF the adapter was trained on (names and shapes are checked)' })
    .option('pre-tokenizer', { type: 'string', describe: "BPE: llama.cpp's pre-tokenizer name, where tokenizer.json's regex is not a known one" });
}

interface ConversionArgs extends GlobalOptions {
  type?: string | undefined;
  base?: string | undefined;
  preTokenizer?: string | undefined;
}

/** Converts `input` to `out` with a progress bar; the CLI's one path for `model convert` and `--gguf`. */
export async function runConversion(args: ConversionArgs, input: string, out: string) {
  const type = args.type as WritableTensorType | undefined;
  if (type !== undefined && !(CONVERT_TYPES as readonly string[]).includes(type)) throw new InputError(`--type must be one of ${CONVERT_TYPES.join(', ')}`);
  const step = createProgress(args).step(`convert ${input}`, 0, 'values');
  const r = await convertCheckpoint({ input, out, base: args.base, type, preTokenizer: args.preTokenizer, onProgress: (d, t) => step.update(d, t) });
  step.done();
  log(args, describeConversion(r));
  return r;
}

function convertBuilder(y: Argv<GlobalOptions>) {
  return conversionOptions(y)
    .positional('input', { type: 'string', demandOption: true, describe: 'checkpoint directory, or a .tar.zst / .tar.gz / .tar archive of one' })
    .option('out', { type: 'string', demandOption: true, describe: 'output GGUF path' })
    .example('$0 model convert checkpoints/my-ft.tar.zst --out my-ft.gguf', 'a downloaded fine-tune, without unpacking it')
    .example('$0 model convert Llama-3.2-1B/ --out llama-3.2-1b.gguf --type bf16', 'a Hugging Face directory')
    .example('$0 model convert my-ft-adapter.tar.zst --base llama-3.1-8b.gguf --out my-ft.lora.gguf', 'a LoRA adapter, for --lora');
}

export const convertCommand: CommandModule<GlobalOptions, ArgsOf<typeof convertBuilder>> = {
  command: 'convert <input>',
  describe: 'convert a Hugging Face llama checkpoint or PEFT LoRA adapter to GGUF (no Python)',
  builder: convertBuilder,
  handler: async (args) => {
    if (typeof args.out !== 'string' || args.out === '') throw new InputError('--out is required');
    const r = await runConversion(args, args.input, args.out);
    if (args.json) printJson(r);
  },
};
