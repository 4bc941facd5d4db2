/**
 * `labor-llm model convert`: a Hugging Face llama checkpoint (directory or `finetune download`
 * archive) to a GGUF model, or a PEFT LoRA adapter to a GGUF adapter for a given base GGUF.
 */
import type { Argv, CommandModule } from 'yargs';
import { CONVERT_TYPES, convertModel } from '../../convert/convert-model.js';
import { openCheckpoint } from '../../convert/checkpoint.js';
import { convertLora, isLoraCheckpoint } from '../../convert/convert-lora.js';
import { InputError } from '../../errors.js';
import type { WritableTensorType } from '../../gguf/types.js';
import { log, printJson, type GlobalOptions } from '../output.js';
import { createProgress } from '../progress.js';

type ArgsOf<B> = B extends (y: Argv<GlobalOptions>) => Argv<infer U> ? U : never;

function convertBuilder(y: Argv<GlobalOptions>) {
  return y
    .positional('input', { type: 'string', demandOption: true, describe: 'checkpoint directory, or a .tar.zst / .tar.gz / .tar archive of one' })
    .option('out', { type: 'string', demandOption: true, describe: 'output GGUF path' })
    .option('type', { choices: CONVERT_TYPES, describe: 'storage type of the weights (default f16; norms stay f32)' })
    .option('base', { type: 'string', describe: 'LoRA adapters: the base model GGUF the adapter was trained on (names and shapes are checked)' })
    .option('pre-tokenizer', { type: 'string', describe: "BPE: llama.cpp's pre-tokenizer name, where tokenizer.json's regex is not a known one" })
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
    const type = args.type as WritableTensorType | undefined;
    if (type !== undefined && !(CONVERT_TYPES as readonly string[]).includes(type)) {
      throw new InputError(`--type must be one of ${CONVERT_TYPES.join(', ')}`);
    }
    const progress = createProgress(args);
    const ckpt = await openCheckpoint(args.input);
    if (isLoraCheckpoint(ckpt)) {
      if (args.base === undefined) throw new InputError('--base is required for a LoRA adapter: the GGUF model it was trained on');
      const step = progress.step('convert adapter', 0, 'tensors');
      const r = await convertLora({ input: ckpt, base: args.base, out: args.out, ...(type ? { type } : {}), onProgress: (d, t) => step.update(d, t) });
      step.done();
      if (args.json) return printJson(r);
      log(args, `wrote ${r.path}: LoRA adapter, rank ${r.rank}, alpha ${r.alpha}, ${r.modules} adapted matrices`);
      return;
    }
    const step = progress.step('convert', 0, 'values');
    const r = await convertModel({
      input: ckpt,
      out: args.out,
      ...(type ? { type } : {}),
      ...(args.preTokenizer ? { preTokenizer: args.preTokenizer } : {}),
      onProgress: (p) => step.update(p.done, p.values),
    });
    step.done(`${r.tensorCount} tensors`);
    if (args.json) return printJson(r);
    log(
      args,
      `wrote ${r.path}: ${r.architecture} (${r.tokenizer} tokenizer, ${r.tiedOutput ? 'tied' : 'separate'} output, RoPE scaling ${r.ropeScaling}), ` +
        `${r.parameterCount.toLocaleString('en-US')} parameters, ${r.bytes.toLocaleString('en-US')} bytes`,
    );
  },
};
