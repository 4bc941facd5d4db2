/**
 * Reading a checkpoint's tensors in the order they lie in its shards, one piece at a time, so that a
 * converter writing GGUF tensors in the same order holds about one piece of one tensor in memory.
 */
import { InputError } from '../../errors.js';
import type { ByteReader, Checkpoint, Shard } from './checkpoint.js';
import { decodeFloats, isFloatDtype, type SafetensorsTensor } from './safetensors.js';

export interface LocatedTensor {
  shard: Shard;
  tensor: SafetensorsTensor;
}

/** Every tensor of the checkpoint, shard by shard in streaming order; a duplicate name is an error. */
export function listTensors(ckpt: Checkpoint): LocatedTensor[] {
  const seen = new Map<string, Shard>();
  const out: LocatedTensor[] = [];
  for (const shard of ckpt.shards) {
    for (const tensor of shard.header.tensors) {
      const other = seen.get(tensor.name);
      if (other !== undefined) {
        throw new InputError(`tensor "${tensor.name}" is in two shards (${other.name} and ${shard.name})`, { file: shard.location, field: tensor.name });
      }
      seen.set(tensor.name, shard);
      out.push({ shard, tensor });
    }
  }
  return out;
}

/** Target piece size in values: large enough for fast writes, small next to any real tensor. */
const PIECE_VALUES = 1 << 20;

/**
 * A forward-only cursor over the checkpoint's bytes. `values(t)` must be called for tensors in
 * streaming order (skipping is allowed); it yields the tensor's values as float32 pieces of whole
 * rows of `rowGroup` rows (so a caller can reorder rows within a group).
 */
export class TensorCursor {
  private readonly shards: AsyncGenerator<{ shard: Shard; reader: ByteReader }>;
  private current: { shard: Shard; reader: ByteReader } | undefined;
  private readonly order: Map<Shard, number>;

  constructor(private readonly ckpt: Checkpoint) {
    this.shards = ckpt.streamShards();
    this.order = new Map(ckpt.shards.map((s, i) => [s, i]));
  }

  private async reach(shard: Shard): Promise<ByteReader> {
    while (this.current?.shard !== shard) {
      if (this.current !== undefined && this.order.get(this.current.shard)! > this.order.get(shard)!) {
        throw new Error(`internal: shard ${shard.name} requested after ${this.current.shard.name}`);
      }
      const next = await this.shards.next();
      if (next.done) throw new InputError(`shard ${shard.name} was not found while streaming`, { file: this.ckpt.path });
      this.current = next.value;
    }
    return this.current.reader;
  }

  async *values(lt: LocatedTensor, rowGroup = 1): AsyncGenerator<Float32Array> {
    const { shard, tensor } = lt;
    const dtype = tensor.dtype;
    if (!isFloatDtype(dtype)) {
      throw new InputError(`dtype ${dtype} is not supported (F32, F16, BF16)`, { file: shard.location, field: `${tensor.name}.dtype` });
    }
    const reader = await this.reach(shard);
    const start = shard.header.dataStart + tensor.begin;
    if (reader.offset > start) throw new Error(`internal: tensor ${tensor.name} requested out of order`);
    await reader.skip(start - reader.offset);
    const size = dtype === 'F32' ? 4 : 2;
    const rowValues = tensor.shape.length > 1 ? tensor.elements / tensor.shape[0]! : tensor.elements;
    const groupValues = Math.max(1, rowValues * rowGroup);
    const perPiece = Math.max(1, Math.floor(PIECE_VALUES / groupValues)) * groupValues;
    for (let done = 0; done < tensor.elements; ) {
      const n = Math.min(perPiece, tensor.elements - done);
      const out = new Float32Array(n);
      decodeFloats(dtype, await reader.read(n * size), out);
      done += n;
      yield out;
    }
  }

  async close(): Promise<void> {
    await this.shards.return(undefined);
  }
}
