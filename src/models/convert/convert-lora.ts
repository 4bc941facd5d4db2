/**
 * A PEFT LoRA adapter (adapter_config.json + adapter_model.safetensors) to llama.cpp's GGUF adapter
 * format, checked against the base GGUF it will be applied to.
 *
 * PEFT adds (alpha / r) * B A to a weight W ([out, in]): lora_A is [r, in], lora_B is [out, r].
 * llama.cpp stores them as `<base tensor>.lora_a` (ggml [in, r]: the same bytes) and `.lora_b`
 * (ggml [r, out]) and scales by alpha / r at run time, so the matrices are copied as they are, with
 * two exceptions: the rows of lora_B of the Q and K projections are interleaved like the base
 * weights (llama-tensors.ts), and rsLoRA's alpha / sqrt(r) is written as an equivalent alpha.
 */
import { InputError } from '../../errors.js';
import { getString, gguf } from '../gguf/metadata.js';
import { readGguf } from '../gguf/reader.js';
import type { GgufTensorInfo, GgufValue, WritableTensorType } from '../gguf/types.js';
import { writeGguf, type GgufTensorInput } from '../gguf/writer.js';
import { openCheckpoint, type Checkpoint } from './checkpoint.js';
import { parseJsonFile } from './hf-config.js';
import { interleaveHeads, mapLlamaTensor } from './llama-tensors.js';
import { listTensors, TensorCursor, type LocatedTensor } from './tensor-stream.js';

export interface ConvertLoraOptions {
  /** Adapter directory or archive, or the checkpoint already opened. */
  input: string | Checkpoint;
  /** The base model GGUF. */
  base: string;
  out: string;
  /** Storage type of the adapter matrices (default f32: adapters are small). */
  type?: WritableTensorType;
  onProgress?: (done: number, total: number) => void;
}

export interface ConvertLoraResult {
  path: string;
  bytes: number;
  rank: number;
  alpha: number;
  /** Adapted base matrices. */
  modules: number;
}

const PEFT_PREFIX = 'base_model.model.';
const LORA_TENSOR = /^(.+)\.lora_([AB])\.weight$/;

/** Whether a checkpoint is a PEFT adapter rather than a model. */
export function isLoraCheckpoint(ckpt: Checkpoint): boolean {
  return ckpt.files.has('adapter_config.json') && !ckpt.files.has('config.json');
}

interface AdapterConfig {
  rank: number;
  alpha: number;
}

function readAdapterConfig(ckpt: Checkpoint): AdapterConfig {
  const bytes = ckpt.files.get('adapter_config.json');
  const file = ckpt.locate('adapter_config.json');
  if (bytes === undefined) throw new InputError('the adapter has no adapter_config.json', { file: ckpt.path });
  const c = parseJsonFile(file, bytes);
  const bad = (field: string, why: string): InputError => new InputError(why, { file, field });
  if (c.peft_type !== undefined && c.peft_type !== 'LORA') throw bad('peft_type', `PEFT type ${JSON.stringify(c.peft_type)} is not supported (LORA)`);
  if (c.use_dora === true) throw bad('use_dora', 'DoRA adapters are not supported by llama.cpp');
  if (Array.isArray(c.modules_to_save) && c.modules_to_save.length > 0) {
    throw bad('modules_to_save', `fully trained modules (${c.modules_to_save.join(', ')}) cannot be stored as a LoRA adapter`);
  }
  if (c.rank_pattern && Object.keys(c.rank_pattern as object).length > 0) throw bad('rank_pattern', 'per-module ranks are not supported');
  if (c.alpha_pattern && Object.keys(c.alpha_pattern as object).length > 0) throw bad('alpha_pattern', 'per-module alphas are not supported');
  const rank = c.r;
  if (typeof rank !== 'number' || !Number.isInteger(rank) || rank < 1) throw bad('r', `r must be a positive integer, got ${JSON.stringify(rank)}`);
  const alpha = c.lora_alpha ?? rank;
  if (typeof alpha !== 'number' || !(alpha > 0)) throw bad('lora_alpha', `lora_alpha must be positive, got ${JSON.stringify(alpha)}`);
  // llama.cpp scales by alpha / r; rsLoRA means alpha / sqrt(r).
  return { rank, alpha: c.use_rslora === true ? alpha * Math.sqrt(rank) : alpha };
}

interface PlannedPair {
  module: string;
  gguf: string;
  permute?: number;
  a?: LocatedTensor;
  b?: LocatedTensor;
}

export async function convertLora(opts: ConvertLoraOptions): Promise<ConvertLoraResult> {
  const type = opts.type ?? 'f32';
  const ckpt = typeof opts.input === 'string' ? await openCheckpoint(opts.input) : opts.input;
  const cfg = readAdapterConfig(ckpt);
  const base = await readGguf(opts.base);
  const arch = getString(base.metadata, 'general.architecture', opts.base);
  if (arch !== 'llama') throw new InputError(`the base model's architecture is "${arch}"; adapters are converted for llama models`, { file: opts.base, field: 'general.architecture' });
  const baseTensors = new Map<string, GgufTensorInfo>(base.tensors.map((t) => [t.name, t]));
  const nEmbd = baseTensors.get('token_embd.weight')?.dims[0] ?? 0;
  const nHead = base.metadata.get('llama.attention.head_count');
  const headDim = nHead?.type === 'uint32' ? nEmbd / nHead.value : 0;

  const pairs = new Map<string, PlannedPair>();
  for (const lt of listTensors(ckpt)) {
    const where = { file: lt.shard.location, field: lt.tensor.name };
    const m = LORA_TENSOR.exec(lt.tensor.name);
    if (m === null) {
      throw new InputError(`tensor "${lt.tensor.name}" is not a LoRA A/B matrix (biases and saved modules are not supported)`, where);
    }
    const module = m[1]!.startsWith(PEFT_PREFIX) ? m[1]!.slice(PEFT_PREFIX.length) : m[1]!;
    const mapped = mapLlamaTensor(`${module}.weight`, headDim);
    if (mapped === undefined || mapped.gguf === 'token_embd.weight' || mapped.gguf.endsWith('norm.weight')) {
      throw new InputError(`target module "${module}" is not supported (llama's attention and MLP projections, and lm_head)`, where);
    }
    const p = pairs.get(module) ?? { module, gguf: mapped.gguf, ...(mapped.permuteHeadRows ? { permute: mapped.permuteHeadRows } : {}) };
    if (m[2] === 'A') p.a = lt;
    else p.b = lt;
    pairs.set(module, p);
  }
  if (pairs.size === 0) throw new InputError('the adapter has no LoRA matrices', { file: ckpt.path });

  for (const p of pairs.values()) {
    const file = (p.a ?? p.b)!.shard.location;
    if (p.a === undefined || p.b === undefined) {
      throw new InputError(`module "${p.module}" has only its lora_${p.a ? 'A' : 'B'} matrix`, { file, field: p.module });
    }
    const w = baseTensors.get(p.gguf);
    if (w === undefined) {
      throw new InputError(`the base model has no tensor "${p.gguf}" for module "${p.module}": wrong base model?`, { file: opts.base, field: p.gguf });
    }
    const [inDim, outDim] = w.dims as [number, number];
    const [ar, ain] = p.a.tensor.shape;
    const [bout, br] = p.b.tensor.shape;
    if (p.a.tensor.shape.length !== 2 || p.b.tensor.shape.length !== 2 || ain !== inDim || bout !== outDim || ar !== cfg.rank || br !== cfg.rank) {
      throw new InputError(
        `module "${p.module}": lora_A [${p.a.tensor.shape.join(', ')}] and lora_B [${p.b.tensor.shape.join(', ')}] do not fit ` +
          `the base tensor ${p.gguf} ([${outDim}, ${inDim}] as [out, in]) at rank ${cfg.rank}: wrong base model?`,
        { file, field: p.module },
      );
    }
  }

  // Write the matrices in the order the shards hold them.
  const cursor = new TensorCursor(ckpt);
  const located = [...pairs.values()].flatMap((p) => [
    { lt: p.a!, name: `${p.gguf}.lora_a` },
    { lt: p.b!, name: `${p.gguf}.lora_b`, permute: p.permute },
  ]);
  const order = new Map(listTensors(ckpt).map((lt, i) => [lt.tensor.name, i]));
  located.sort((x, y) => order.get(x.lt.tensor.name)! - order.get(y.lt.tensor.name)!);
  let done = 0;
  const tensors: GgufTensorInput[] = located.map(({ lt, name, permute }) => ({
    name,
    dims: [...lt.tensor.shape].reverse(),
    type,
    data: async function* () {
      const cols = lt.tensor.shape[1]!;
      for await (const piece of cursor.values(lt, permute ?? 1)) yield permute === undefined ? piece : interleaveHeads(piece, permute, cols);
      opts.onProgress?.(++done, located.length);
    },
  }));
  const metadata: [string, GgufValue][] = [
    ['general.architecture', gguf.str(arch)],
    ['general.type', gguf.str('adapter')],
    ['general.name', gguf.str(ckpt.path.replace(/^.*\//, ''))],
    ['adapter.type', gguf.str('lora')],
    ['adapter.lora.alpha', gguf.f32(cfg.alpha)],
  ];
  try {
    const r = await writeGguf(opts.out, { metadata, tensors });
    return { path: r.path, bytes: r.bytes, rank: cfg.rank, alpha: cfg.alpha, modules: pairs.size };
  } finally {
    await cursor.close();
  }
}
