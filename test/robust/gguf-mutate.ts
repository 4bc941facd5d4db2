/**
 * Malformed copies of a valid tiny model for the robustness tests: metadata values replaced (through
 * the GGUF writer, so the file is well-formed and only its content is wrong) and tensor infos patched
 * in place (dims, type, offset), which the writer would never produce.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import {
  initTensor,
  loadTokenizer,
  readGguf,
  readTensorData,
  writeGguf,
  writeLlamaModel,
  type GgufFile,
  type GgufTensorInput,
  type GgufValue,
} from '../../src/models/gguf/index.js';

export interface Source {
  file: GgufFile;
  tensors: GgufTensorInput[];
  bytes: Buffer;
}

export async function loadSource(path: string): Promise<Source> {
  const file = await readGguf(path);
  const tensors = await Promise.all(
    file.tensors.map(async (t) => ({ name: t.name, dims: t.dims, type: 'f32' as const, data: await readTensorData(file, t.name) })),
  );
  return { file, tensors, bytes: readFileSync(path) };
}

/** A copy with metadata keys replaced (undefined deletes a key). */
export async function withMetadata(src: Source, out: string, changes: Record<string, GgufValue | undefined>): Promise<string> {
  const metadata = new Map(src.file.metadata);
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined) metadata.delete(k);
    else metadata.set(k, v);
  }
  await writeGguf(out, { metadata, tensors: src.tensors });
  return out;
}

export type TensorField = 'dim' | 'type' | 'offset';

/** A copy with one field of one tensor info overwritten: the byte layout is GGUF v3's. */
export function withTensorInfo(src: Source, out: string, tensor: number, field: TensorField, value: bigint, dim = 0): string {
  const t = src.file.tensors[tensor % src.file.tensors.length]!;
  const name = Buffer.from(t.name, 'utf8');
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(name.length));
  const at = src.bytes.indexOf(Buffer.concat([prefix, name]));
  if (at < 0 || at > src.file.dataOffset) throw new Error(`tensor info of ${t.name} not found`);
  const nDimsAt = at + 8 + name.length;
  const nDims = src.bytes.readUInt32LE(nDimsAt);
  const bytes = Buffer.from(src.bytes);
  const dimsAt = nDimsAt + 4;
  if (field === 'dim') bytes.writeBigUInt64LE(BigInt.asUintN(64, value), dimsAt + 8 * (dim % nDims));
  else if (field === 'type') bytes.writeUInt32LE(Number(BigInt.asUintN(32, value)), dimsAt + 8 * nDims);
  else bytes.writeBigUInt64LE(BigInt.asUintN(64, value), dimsAt + 8 * nDims + 4);
  writeFileSync(out, bytes);
  return out;
}

export interface ChildLoad {
  /** The child's own exit status (non-zero or a signal: it died). */
  status: number | null;
  signal: NodeJS.Signals | null;
  /** Per file: the exit code the CLI would give and the message; missing where the child died first. */
  results: { code: number; message: string }[];
  stderr: string;
}

/** Loads and scores each file with the engine in one child process (test/robust/load-child.ts). */
export function loadInChild(files: string[], timeoutMs = 120_000): ChildLoad {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'test/robust/load-child.ts', ...files], {
    encoding: 'utf8',
    timeout: timeoutMs,
    env: { ...process.env, LABOR_LLM_LOG: 'none' },
  });
  const results: { code: number; message: string }[] = [];
  for (const line of r.stdout.split('\n')) {
    const m = /^exit (\d+) (\d+) (.*)$/.exec(line);
    if (m) results[Number(m[1])] = { code: Number(m[2]), message: m[3]! };
  }
  return { status: r.status, signal: r.signal, results, stderr: r.stderr.slice(-2000) };
}

/**
 * A small llama model (1,024 tokens of the Llama-2 vocabulary, byte tokens included; n_embd 32) that
 * llama.cpp loads in milliseconds: the base the property test mutates.
 */
export async function smallModel(out: string): Promise<string> {
  const full = await loadTokenizer('llama-spm');
  const nVocab = 1024;
  const metadata = new Map<string, GgufValue>();
  for (const [k, v] of full.metadata) {
    metadata.set(k, v.type === 'array' && v.value.length === full.nVocab ? ({ ...v, value: v.value.slice(0, nVocab) } as GgufValue) : v);
  }
  const shape = { nVocab, nEmbd: 32, nLayer: 2, nHead: 4, nHeadKv: 2, nFf: 64, nCtx: 128, rmsEps: 1e-5, ropeFreqBase: 10000 };
  await writeLlamaModel({
    out,
    shape,
    tokenizer: { ...full, metadata, nVocab },
    type: 'f32',
    weights: (spec) => initTensor(spec, 3),
  });
  return out;
}
