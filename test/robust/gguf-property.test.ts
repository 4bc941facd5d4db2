/**
 * Property: whatever a GGUF's metadata values and tensor infos say, loading and scoring it never takes
 * the process down. fast-check draws 1-3 mutations per file (seeded: the same files every run); all
 * files are loaded in one child process, which must survive them all with exit codes 0 or 2-5 (1 is an
 * uncaught bug, a signal is an abort). A failure names the mutation that killed the child.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, expect, it } from 'vitest';
import { gguf, type GgufValue } from '../../src/models/gguf/index.js';
import { loadInChild, loadSource, smallModel, withMetadata, withTensorInfo, type TensorField } from './gguf-mutate.js';

const SEED = Number(process.env.GGUF_PROPERTY_SEED ?? 1515);
const RUNS = Number(process.env.GGUF_PROPERTY_RUNS ?? 300);
const dir = mkdtempSync(join(tmpdir(), 'labor-llm-gguf-property-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Keys llama.cpp reads for a llama model that the base file may not have. */
const EXTRA_KEYS = [
  'llama.expert_count',
  'llama.expert_used_count',
  'llama.expert_group_count',
  'llama.expert_group_used_count',
  'llama.nextn_predict_layers',
  'llama.rope.scaling.type',
  'llama.rope.scaling.factor',
  'llama.attention.key_length',
  'llama.attention.value_length',
  'llama.attention.layer_norm_epsilon',
  'tokenizer.ggml.pre',
  'tokenizer.ggml.merges',
  'tokenizer.ggml.bos_token_id',
  'tokenizer.ggml.eos_token_id',
];

const interestingInt = fc.oneof(
  fc.constantFrom(0, 1, 2, 3, 4, 5, 8, 31, 32, 64, 511, 512, 513, 1000, 1023, 1024, 1025, 2 ** 16, 2 ** 31 - 1, 2 ** 32 - 1),
  fc.nat({ max: 2 ** 32 - 1 }),
);
const value: fc.Arbitrary<GgufValue | undefined> = fc.oneof(
  fc.constant(undefined),
  interestingInt.map((v) => gguf.u32(v)),
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }).map((v) => gguf.i32(v)),
  fc.constantFrom(NaN, Infinity, -Infinity, 0, -0, -1, 1e-5, 1e30, 1e-45, 0.5).map((v) => gguf.f32(v)),
  fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map((v) => gguf.u64(v)),
  fc.oneof(fc.constantFrom('llama', 'gpt2', 'bert', 'none', 't5', 'rwkv', '', 'yarn', 'linear', 'default'), fc.string()).map((v) => gguf.str(v)),
  fc.boolean().map((v) => gguf.bool(v)),
  fc.array(interestingInt, { maxLength: 600 }).map((v): GgufValue => ({ type: 'array', itemType: 'uint32', value: Uint32Array.from(v) })),
  fc.array(fc.string({ maxLength: 4 }), { maxLength: 8 }).map((v) => gguf.strings(v)),
);
const tensorValue = fc.oneof(
  fc.constantFrom(0n, 1n, 2n, 31n, 32n, 33n, 64n, 1024n, 2n ** 32n, 2n ** 62n, 2n ** 64n - 1n),
  fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
);

type Mutation =
  | { kind: 'metadata'; changes: [string, GgufValue | undefined][] }
  | { kind: 'tensor'; tensor: number; field: TensorField; dim: number; value: bigint };

function describe(m: Mutation): string {
  if (m.kind === 'tensor') return `tensor #${m.tensor} ${m.field}${m.field === 'dim' ? `[${m.dim}]` : ''} = ${m.value}`;
  const show = (v: GgufValue | undefined): string =>
    v === undefined ? 'deleted' : `${v.type} ${v.type === 'array' ? `[${v.value.length} items]` : String(v.value)}`;
  return m.changes.map(([k, v]) => `${k} ${show(v)}`).join(', ');
}

it(`${RUNS} seeded mutations of a valid GGUF never kill the process (exit 0 or 2-5)`, async () => {
  const src = await loadSource(await smallModel(join(dir, 'base.gguf')));
  const keys = [...new Set([...src.file.metadata.keys(), ...EXTRA_KEYS])];
  const mutation: fc.Arbitrary<Mutation> = fc.oneof(
    { weight: 3, arbitrary: fc.array(fc.tuple(fc.constantFrom(...keys), value), { minLength: 1, maxLength: 3 }).map((changes) => ({ kind: 'metadata' as const, changes })) },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('tensor' as const),
        tensor: fc.nat({ max: src.file.tensors.length - 1 }),
        field: fc.constantFrom<TensorField>('dim', 'type', 'offset'),
        dim: fc.nat({ max: 3 }),
        value: tensorValue,
      }),
    },
  );
  const mutations = fc.sample(mutation, { seed: SEED, numRuns: RUNS });
  const files: string[] = [];
  for (const [i, m] of mutations.entries()) {
    const out = join(dir, `m${i}.gguf`);
    if (m.kind === 'tensor') withTensorInfo(src, out, m.tensor, m.field, m.value, m.dim);
    else await withMetadata(src, out, Object.fromEntries(m.changes));
    files.push(out);
  }
  const r = loadInChild(files);
  const died = r.results.length < files.length || r.status !== 0;
  if (died) {
    const at = r.results.length;
    expect.fail(`the child died (status ${r.status}, signal ${r.signal}) on mutation #${at}: ${describe(mutations[at]!)}\n${r.stderr}`);
  }
  const bad = r.results.flatMap((x, i) => (x.code === 0 || (x.code >= 2 && x.code <= 5) ? [] : [`#${i} ${describe(mutations[i]!)}: exit ${x.code} ${x.message}`]));
  expect(bad).toEqual([]);
  // The property is not vacuous: some files still load, most are refused.
  const codes = r.results.map((x) => x.code);
  if (process.env.ROBUST_DEBUG) console.log(r.results.map((x, i) => `${x.code} ${describe(mutations[i]!)} :: ${x.message.slice(0, 150)}`).join("\n"));
  expect(codes.filter((c) => c === 0).length).toBeGreaterThan(0);
  expect(codes.filter((c) => c === 4).length).toBeGreaterThan(RUNS / 4);
});
