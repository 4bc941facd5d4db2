/**
 * Hugging Face checkpoints and PEFT LoRA adapters to GGUF, in TypeScript (no Python): see
 * convert-model.ts and convert-lora.ts; `convertCheckpoint` picks the one a checkpoint needs.
 */
import { ParameterError, InputError } from '../../errors.js';
import type { WritableTensorType } from '../gguf/types.js';
import { openCheckpoint } from './checkpoint.js';
import { convertLora, isLoraCheckpoint, type ConvertLoraResult } from './convert-lora.js';
import { convertModel, type ConvertModelResult, type ConvertProgress } from './convert-model.js';

export { openCheckpoint, type Checkpoint } from './checkpoint.js';
export { convertLora, isLoraCheckpoint, type ConvertLoraOptions, type ConvertLoraResult } from './convert-lora.js';
export { CONVERT_TYPES, convertModel, type ConvertModelOptions, type ConvertModelResult, type ConvertProgress } from './convert-model.js';

export interface ConvertCheckpointOptions {
  /** A model or adapter checkpoint: directory or archive. */
  input: string;
  out: string;
  /** The base model GGUF: required for an adapter, ignored for a model. */
  base?: string | undefined;
  type?: WritableTensorType | undefined;
  preTokenizer?: string | undefined;
  onProgress?: (done: number, total: number) => void;
}

export type ConvertCheckpointResult = ({ kind: 'model' } & ConvertModelResult) | ({ kind: 'lora' } & ConvertLoraResult);

/** Converts a model checkpoint to a GGUF model, or an adapter (given `base`) to a GGUF adapter. */
export async function convertCheckpoint(o: ConvertCheckpointOptions): Promise<ConvertCheckpointResult> {
  const ckpt = await openCheckpoint(o.input);
  if (isLoraCheckpoint(ckpt)) {
    if (o.base === undefined) {
      throw new ParameterError('base', 'this is a LoRA adapter: give the GGUF model it was trained on (`base`)', { file: o.input, field: 'base' });
    }
    const r = await convertLora({ input: ckpt, base: o.base, out: o.out, ...(o.type ? { type: o.type } : {}), ...(o.onProgress ? { onProgress: o.onProgress } : {}) });
    return { kind: 'lora', ...r };
  }
  const onProgress = o.onProgress;
  const r = await convertModel({
    input: ckpt,
    out: o.out,
    ...(o.type ? { type: o.type } : {}),
    ...(o.preTokenizer ? { preTokenizer: o.preTokenizer } : {}),
    ...(onProgress ? { onProgress: (p: ConvertProgress) => onProgress(p.done, p.values) } : {}),
  });
  return { kind: 'model', ...r };
}

/** One line saying what a conversion wrote. */
export function describeConversion(r: ConvertCheckpointResult): string {
  if (r.kind === 'lora') return `wrote ${r.path}: LoRA adapter, rank ${r.rank}, alpha ${r.alpha}, ${r.modules} adapted matrices`;
  return (
    `wrote ${r.path}: ${r.architecture} (${r.tokenizer} tokenizer, ${r.tiedOutput ? 'tied' : 'separate'} output, RoPE scaling ${r.ropeScaling}), ` +
    `${r.parameterCount.toLocaleString('en-US')} parameters, ${r.bytes.toLocaleString('en-US')} bytes`
  );
}
