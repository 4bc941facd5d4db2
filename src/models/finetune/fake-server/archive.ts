/**
 * Deterministic stand-ins for the checkpoint archives Together serves: a ustar archive of
 * Hugging Face-style files (config, tokenizer, a small safetensors file), wrapped in a zstd frame.
 * Node 20 has no zstd compressor, but the zstd format allows "raw" (stored) blocks, which any zstd
 * decoder (the zstd tool, `tar --zstd`) reads; that is all a test double needs.
 */
import { createHash } from 'node:crypto';

export interface ArchiveFile {
  name: string;
  data: Buffer;
}

/** A POSIX ustar archive (regular files only, fixed mtime so that bytes are reproducible). */
export function tarArchive(files: ArchiveFile[], mtime = 1_767_225_600): Buffer {
  const blocks: Buffer[] = [];
  for (const f of files) {
    if (Buffer.byteLength(f.name) > 100) throw new Error(`tar name too long: ${f.name}`);
    const h = Buffer.alloc(512);
    h.write(f.name, 0, 100, 'utf8');
    h.write('0000644\0', 100, 8, 'ascii'); // mode
    h.write('0000000\0', 108, 8, 'ascii'); // uid
    h.write('0000000\0', 116, 8, 'ascii'); // gid
    h.write(`${f.data.length.toString(8).padStart(11, '0')}\0`, 124, 12, 'ascii');
    h.write(`${mtime.toString(8).padStart(11, '0')}\0`, 136, 12, 'ascii');
    h.write('        ', 148, 8, 'ascii'); // checksum field counts as spaces while summing
    h.write('0', 156, 1, 'ascii'); // regular file
    h.write('ustar\0', 257, 6, 'ascii');
    h.write('00', 263, 2, 'ascii');
    let sum = 0;
    for (const b of h) sum += b;
    h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii');
    blocks.push(h, f.data);
    const pad = (512 - (f.data.length % 512)) % 512;
    if (pad > 0) blocks.push(Buffer.alloc(pad));
  }
  blocks.push(Buffer.alloc(1024)); // end-of-archive marker
  return Buffer.concat(blocks);
}

const ZSTD_MAGIC = 0xfd2fb528;
const MAX_BLOCK = 128 * 1024;

/** A zstd frame of raw (uncompressed) blocks with the content size in the header. */
export function zstdStoredFrame(content: Buffer): Buffer {
  const header = Buffer.alloc(4 + 1 + 8);
  header.writeUInt32LE(ZSTD_MAGIC, 0);
  // Frame header descriptor: 8-byte content size (bits 7-6 = 3), single segment (bit 5), no checksum, no dictionary.
  header.writeUInt8(0xe0, 4);
  header.writeBigUInt64LE(BigInt(content.length), 5);
  const parts: Buffer[] = [header];
  let off = 0;
  do {
    const size = Math.min(MAX_BLOCK, content.length - off);
    const last = off + size >= content.length ? 1 : 0;
    // Block header, 3 bytes little-endian: last flag, type 0 (raw) in bits 1-2, size in bits 3-23.
    const bh = (size << 3) | last;
    parts.push(Buffer.from([bh & 0xff, (bh >> 8) & 0xff, (bh >> 16) & 0xff]), content.subarray(off, off + size));
    off += size;
  } while (off < content.length);
  return Buffer.concat(parts);
}

/** Pseudo-random bytes from a seed (xorshift32): weights that differ per job yet are reproducible. */
function seededBytes(seed: string, n: number): Buffer {
  let x = createHash('sha256').update(seed).digest().readUInt32LE(0) || 1;
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** A well-formed safetensors file: u64 header length, JSON header, then the tensor bytes. */
function safetensors(tensorName: string, data: Buffer, meta: Record<string, string>): Buffer {
  const n = Math.floor(data.length / 4);
  const header = JSON.stringify({
    __metadata__: meta,
    [tensorName]: { dtype: 'F32', shape: [n], data_offsets: [0, n * 4] },
  });
  // Pad the header with spaces so that tensor data starts 8-aligned, as writers do.
  const padded = header + ' '.repeat((8 - ((8 + Buffer.byteLength(header)) % 8)) % 8);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(Buffer.byteLength(padded)));
  return Buffer.concat([len, Buffer.from(padded), data.subarray(0, n * 4)]);
}

export type ArchiveKind = 'merged' | 'adapter' | 'full';

/** The archive for one checkpoint of a fake job: `weightBytes` of weights plus small JSON files. */
export function checkpointArchive(jobId: string, baseModel: string, kind: ArchiveKind, step: number, weightBytes: number): Buffer {
  const seed = `${jobId}:${kind}:${step}`;
  const json = (v: unknown): Buffer => Buffer.from(`${JSON.stringify(v, null, 2)}\n`);
  const meta = { format: 'pt', 'labor-llm-fake': seed };
  const files: ArchiveFile[] =
    kind === 'adapter'
      ? [
          { name: 'adapter_config.json', data: json({ base_model_name_or_path: baseModel, peft_type: 'LORA', r: 8, lora_alpha: 16, target_modules: ['q_proj', 'v_proj'] }) },
          { name: 'adapter_model.safetensors', data: safetensors('base_model.model.layers.0.self_attn.q_proj.lora_A.weight', seededBytes(seed, weightBytes), meta) },
        ]
      : [
          {
            name: 'config.json',
            data: json({ architectures: ['LlamaForCausalLM'], model_type: 'llama', hidden_size: 64, num_hidden_layers: 1, num_attention_heads: 4, vocab_size: 256, torch_dtype: 'float32', _name_or_path: baseModel }),
          },
          { name: 'generation_config.json', data: json({ bos_token_id: 1, eos_token_id: 2 }) },
          { name: 'tokenizer_config.json', data: json({ tokenizer_class: 'PreTrainedTokenizerFast', bos_token: '<s>', eos_token: '</s>' }) },
          { name: 'special_tokens_map.json', data: json({ bos_token: '<s>', eos_token: '</s>' }) },
          { name: 'tokenizer.json', data: json({ version: '1.0', model: { type: 'BPE', vocab: {}, merges: [] } }) },
          { name: 'model.safetensors', data: safetensors('model.embed_tokens.weight', seededBytes(seed, weightBytes), meta) },
        ];
  return zstdStoredFrame(tarArchive(files));
}
