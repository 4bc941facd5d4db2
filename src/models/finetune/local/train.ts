/**
 * Local fine-tuning: full-parameter AdamW training of every weight of a small llama-architecture GGUF
 * model on template texts, inside the native addon (native/engine/trainer.*: our own llama training
 * graph over ggml's optimizer; docs/finetune-local.md says why not llama.cpp's training API).
 *
 * What happens (details in native/engine/trainer.h):
 * - each text is tokenized with BOS and the texts of a split are concatenated into one token stream,
 *   cut into windows of `contextLength` tokens (+1 for the labels); one window is one optimizer step;
 * - every epoch visits the training windows in an order drawn from `seed`, then computes the
 *   validation loss (mean next-token cross-entropy, nats per token) on the validation windows;
 * - the weights of the epoch with the lowest validation loss are written to `out` as a GGUF with the
 *   input model's metadata; `out` appears (by rename) only when the run completes;
 * - every weight trains: token embeddings, Q/K/V/output projections, feed-forward, norms, output layer
 *   (only RoPE frequency factors, where a file has them, are constants);
 * - one thread and one seed give bit-identical weights.
 *
 * The model must be llama architecture with f32 weights throughout: anything else is a ModelError,
 * raised before any training (llama.cpp's backward pass aborts the process on other tensor types).
 */
import { existsSync, statSync } from 'node:fs';
import { ParameterError, CancelledError, InputError, NotFoundError } from '../../../errors.js';
import { validateModelFile } from '../../gguf/validate.js';
import { callWithProgress } from '../../../engine/native-call.js';
import { loadAddon, type LocalFinetuneProgress, type LocalFinetuneResult, type TrainOptions } from '../../../engine/native.js';

export { LR_DECAYS } from '../../../engine/native.js';
export type { EpochProgress, EpochRecord, LocalFinetuneProgress, LocalFinetuneResult, LrDecay, TrainOptions, WindowProgress } from '../../../engine/native.js';

export interface LocalFinetuneOptions extends TrainOptions {
  /** Replace an existing `out` (default false). */
  overwrite?: boolean;
  onProgress?: (p: LocalFinetuneProgress) => void;
  signal?: AbortSignal;
}

/** Fine-tunes `model` on the texts and writes the best epoch's weights to `out`. */
export async function finetuneLocal(opts: LocalFinetuneOptions): Promise<LocalFinetuneResult> {
  const { overwrite, onProgress, signal, ...native } = opts;
  if (existsSync(opts.out)) {
    if (statSync(opts.out).isDirectory()) throw new InputError(`the output ${opts.out} is a folder`);
    if (!overwrite) throw new ParameterError('overwrite', `the output ${opts.out} exists (pass \`overwrite\` to replace it)`, { file: opts.out });
  }
  if (!existsSync(opts.model)) throw new NotFoundError(`model file not found: ${opts.model}`);
  // llama.cpp aborts the process on some bad headers: the engine's verdict comes first.
  await validateModelFile(opts.model);
  if (signal?.aborted) throw new CancelledError();
  return callWithProgress(signal, onProgress, 'local fine-tuning failed', (progress, cancel) => loadAddon().train(native, progress, cancel));
}
