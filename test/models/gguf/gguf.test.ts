import { mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError, ModelError, NotFoundError } from '../../../src/errors.js';
import { decodeF16, encodeF16 } from '../../../src/models/gguf/f16.js';
import { gguf, readGguf, readTensorData, writeGguf, type GgufValue } from '../../../src/models/gguf/index.js';

const dir = mkdtempSync(join(tmpdir(), 'labor-llm-gguf-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const tmp = (name = 'm.gguf'): string => join(dir, `${n++}-${name}`);

/** Every metadata type, including edge values and empty arrays. */
function allTypesMetadata(): [string, GgufValue][] {
  return [
    ['general.architecture', gguf.str('llama')],
    ['t.u8', gguf.u8(255)],
    ['t.i8', gguf.i8(-128)],
    ['t.u16', gguf.u16(65535)],
    ['t.i16', gguf.i16(-32768)],
    ['t.u32', gguf.u32(4294967295)],
    ['t.i32', gguf.i32(-2147483648)],
    ['t.f32', gguf.f32(Math.fround(0.1))],
    ['t.f64', gguf.f64(0.1)],
    ['t.u64', gguf.u64(18446744073709551615n)],
    ['t.i64', gguf.i64(-9223372036854775808n)],
    ['t.bool', gguf.bool(true)],
    ['t.str', gguf.str('Elementary and middle school teachers — «ü» 😀')],
    ['t.empty', gguf.str('')],
    ['a.str', gguf.strings(['a', '', 'ü😀', ' x'])],
    ['a.f32', gguf.f32s(Float32Array.from([1.5, -2, 0]))],
    ['a.i32', gguf.i32s(Int32Array.from([1, -1, 2147483647]))],
    ['a.u8', { type: 'array', itemType: 'uint8', value: Uint8Array.from([0, 255]) }],
    ['a.i16', { type: 'array', itemType: 'int16', value: Int16Array.from([-5, 5]) }],
    ['a.u64', { type: 'array', itemType: 'uint64', value: BigUint64Array.from([0n, 2n ** 64n - 1n]) }],
    ['a.f64', { type: 'array', itemType: 'float64', value: Float64Array.from([Math.PI]) }],
    ['a.bool', { type: 'array', itemType: 'bool', value: [true, false, true] }],
    ['a.empty', { type: 'array', itemType: 'float32', value: new Float32Array(0) }],
  ];
}

const ramp = (k: number, scale = 1): Float32Array => Float32Array.from({ length: k }, (_, i) => Math.sin(i * 0.37) * scale);

describe('writeGguf / readGguf round trip', () => {
  it('keeps every metadata value with its exact type, in order', async () => {
    const path = tmp();
    const metadata = allTypesMetadata();
    await writeGguf(path, { metadata, tensors: [] });
    const file = await readGguf(path);
    expect(file.version).toBe(3);
    expect([...file.metadata.keys()]).toEqual(metadata.map(([k]) => k));
    for (const [k, v] of metadata) expect(file.metadata.get(k), k).toEqual(v);
    expect(file.tensors).toEqual([]);
  });

  it('writes tensors aligned, in ggml dims order, and reads their data back', async () => {
    const path = tmp();
    const a = ramp(3 * 5); // 60 bytes: not a multiple of 32, so padding follows
    const b = ramp(7 * 2 * 3, 1000);
    const c = ramp(11);
    const d = ramp(2 * 2 * 2 * 3);
    const result = await writeGguf(path, {
      metadata: [['general.architecture', gguf.str('test')]],
      tensors: [
        { name: 'a', dims: [3, 5], type: 'f32', data: a },
        { name: 'b', dims: [7, 2, 3], type: 'f16', data: () => b },
        { name: 'c', dims: [11], type: 'f16', data: async () => c },
        { name: 'd', dims: [2, 2, 2, 3], type: 'f32', data: d },
      ],
    });
    const file = await readGguf(path);
    expect(file.tensors.map((t) => [t.name, t.dims, t.type])).toEqual([
      ['a', [3, 5], 'f32'],
      ['b', [7, 2, 3], 'f16'],
      ['c', [11], 'f16'],
      ['d', [2, 2, 2, 3], 'f32'],
    ]);
    expect(file.dataOffset % 32).toBe(0);
    expect(file.dataOffset).toBe(result.dataOffset);
    expect(file.tensors.map((t) => t.offset)).toEqual([0, 64, 64 + 96, 64 + 96 + 32]);
    expect(file.fileSize).toBe(result.bytes);
    expect(result.parameterCount).toBe(15 + 42 + 11 + 24);
    expect(await readTensorData(file, 'a')).toEqual(a);
    expect(await readTensorData(file, 'd')).toEqual(d);
    // f16 tensors come back as the f16-rounded values.
    const rounded = (x: Float32Array): Float32Array => {
      const h = new Uint16Array(x.length);
      encodeF16(x, h);
      const out = new Float32Array(x.length);
      decodeF16(h, out);
      return out;
    };
    expect(await readTensorData(file, 'b')).toEqual(rounded(b));
    expect(await readTensorData(file, 'c')).toEqual(rounded(c));
    await expect(readTensorData(file, 'nope')).rejects.toThrow(/no tensor named "nope"/);
  });

  it('honours general.alignment', async () => {
    const path = tmp();
    await writeGguf(path, {
      metadata: [['general.alignment', gguf.u32(64)]],
      tensors: [
        { name: 'x', dims: [3], type: 'f32', data: ramp(3) },
        { name: 'y', dims: [5], type: 'f32', data: ramp(5) },
      ],
    });
    const file = await readGguf(path);
    expect(file.alignment).toBe(64);
    expect(file.dataOffset % 64).toBe(0);
    expect(file.tensors[1]!.offset).toBe(64);
    expect(await readTensorData(file, 'y')).toEqual(ramp(5));
  });

  it('produces exactly the bytes the GGUF v3 specification describes', async () => {
    const path = tmp();
    await writeGguf(path, {
      metadata: [['k', gguf.u32(7)]],
      tensors: [{ name: 'w', dims: [2], type: 'f32', data: Float32Array.from([1, -2]) }],
    });
    // Built by hand: magic, version, n_tensors, n_kv, kv (key, type 4 = uint32, value), tensor info
    // (name, n_dims, ne0, type 0 = f32, offset 0), zero padding to 32, data, padding to 32.
    const u32 = (v: number): Buffer => {
      const b = Buffer.alloc(4);
      b.writeUInt32LE(v);
      return b;
    };
    const u64 = (v: number): Buffer => {
      const b = Buffer.alloc(8);
      b.writeBigUInt64LE(BigInt(v));
      return b;
    };
    const str = (s: string): Buffer => Buffer.concat([u64(s.length), Buffer.from(s)]);
    const header = Buffer.concat([
      Buffer.from('GGUF'),
      u32(3),
      u64(1),
      u64(1),
      str('k'),
      u32(4),
      u32(7),
      str('w'),
      u32(1),
      u64(2),
      u32(0),
      u64(0),
    ]);
    const padded = Buffer.concat([header, Buffer.alloc((32 - (header.length % 32)) % 32)]);
    const data = Buffer.from(Float32Array.from([1, -2]).buffer);
    const expected = Buffer.concat([padded, data, Buffer.alloc(32 - data.length)]);
    expect(readFileSync(path).equals(expected)).toBe(true);
  });

  it('calls lazy tensor data in order, one at a time', async () => {
    const calls: string[] = [];
    const lazy = (name: string, k: number) => () => {
      calls.push(name);
      return ramp(k);
    };
    await writeGguf(tmp(), {
      metadata: [],
      tensors: [
        { name: 'p', dims: [4], type: 'f32', data: lazy('p', 4) },
        { name: 'q', dims: [4], type: 'f16', data: lazy('q', 4) },
      ],
    });
    expect(calls).toEqual(['p', 'q']);
  });
});

describe('streaming', () => {
  it('reads the header of a file with a 1 GiB tensor without reading its data', async () => {
    const path = tmp('sparse.gguf');
    await writeGguf(path, { metadata: [['general.architecture', gguf.str('x')]], tensors: [{ name: 'big', dims: [8], type: 'f32', data: ramp(8) }] });
    const bytes = readFileSync(path);
    // Patch ne0 from 8 to 2^28 (1 GiB of f32) and extend the file sparsely to hold it.
    const nameAt = bytes.indexOf(Buffer.from([3, 0, 0, 0, 0, 0, 0, 0, ...Buffer.from('big')]));
    bytes.writeBigUInt64LE(2n ** 28n, nameAt + 11 + 4);
    writeFileSync(path, bytes);
    const before = (await readGguf(path).catch((e: Error) => e)) as Error;
    expect(before.message).toMatch(/truncated/);
    truncateSync(path, bytes.length - 32 + 2 ** 30);
    const mem = process.memoryUsage().arrayBuffers;
    const file = await readGguf(path);
    expect(file.tensors[0]).toMatchObject({ name: 'big', dims: [2 ** 28], byteSize: 2 ** 30 });
    expect(process.memoryUsage().arrayBuffers - mem).toBeLessThan(64 * 2 ** 20);
  });
});

describe('writeGguf errors', () => {
  const bad = async (input: Parameters<typeof writeGguf>[1], pattern: RegExp): Promise<void> => {
    const path = tmp();
    const err = await writeGguf(path, input).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toContain(path);
    expect((err as Error).message).toMatch(pattern);
  };

  it('rejects bad tensors and metadata with errors naming the file and field', async () => {
    await bad({ metadata: [], tensors: [{ name: 'w', dims: [3], type: 'f32', data: ramp(4) }] }, /"w".*4 values.*need 3/);
    await bad({ metadata: [], tensors: [{ name: 'w', dims: [2], type: 'f32', data: () => ramp(5) }] }, /5 values/);
    await bad(
      {
        metadata: [],
        tensors: [
          { name: 'w', dims: [1], type: 'f32', data: ramp(1) },
          { name: 'w', dims: [1], type: 'f32', data: ramp(1) },
        ],
      },
      /duplicate tensor name/,
    );
    await bad({ metadata: [], tensors: [{ name: 'x'.repeat(64), dims: [1], type: 'f32', data: ramp(1) }] }, /longer than 63/);
    await bad({ metadata: [], tensors: [{ name: 'w', dims: [1, 1, 1, 1, 1], type: 'f32', data: ramp(1) }] }, /5 dimensions/);
    await bad({ metadata: [], tensors: [{ name: 'w', dims: [0], type: 'f32', data: ramp(0) }] }, /invalid dimensions/);
    await bad({ metadata: [['k', gguf.u32(-1)]], tensors: [] }, /"k".*not a valid uint32/);
    await bad({ metadata: [['k', gguf.u8(1.5)]], tensors: [] }, /not a valid uint8/);
    await bad(
      {
        metadata: [
          ['k', gguf.u32(1)],
          ['k', gguf.u32(2)],
        ],
        tensors: [],
      },
      /duplicate metadata key/,
    );
    await bad({ metadata: [['general.alignment', gguf.u32(48)]], tensors: [] }, /power of two/);
  });

  it('leaves an existing file untouched and no temporary file behind when writing fails', async () => {
    const sub = mkdtempSync(join(dir, 'atomic-'));
    const path = join(sub, 'model.gguf');
    await writeGguf(path, { metadata: [['v', gguf.u32(1)]], tensors: [] });
    const before = readFileSync(path);
    const failing = writeGguf(path, {
      metadata: [['v', gguf.u32(2)]],
      tensors: [
        { name: 'a', dims: [2], type: 'f32', data: ramp(2) },
        {
          name: 'b',
          dims: [2],
          type: 'f32',
          data: () => {
            throw new Error('generator failed');
          },
        },
      ],
    });
    await expect(failing).rejects.toThrow('generator failed');
    expect(readFileSync(path).equals(before)).toBe(true);
    expect(readdirSync(sub)).toEqual(['model.gguf']);
  });
});

describe('readGguf errors', () => {
  async function sample(): Promise<{ path: string; bytes: Buffer; dataOffset: number }> {
    const path = tmp();
    const r = await writeGguf(path, {
      metadata: [
        ['general.architecture', gguf.str('llama')],
        ['tokens', gguf.strings(['a', 'bb', 'ccc'])],
      ],
      tensors: [{ name: 'w', dims: [8, 4], type: 'f32', data: ramp(32) }],
    });
    return { path, bytes: readFileSync(path), dataOffset: r.dataOffset };
  }

  const rejects = async (path: string, cls: typeof ModelError | typeof NotFoundError, pattern: RegExp): Promise<void> => {
    const err = await readGguf(path).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err, `reading ${path}`).toBeInstanceOf(cls);
    expect((err as Error).message).toContain(path);
    expect((err as Error).message).toMatch(pattern);
  };

  it('names a missing file', async () => {
    await rejects(join(dir, 'missing.gguf'), NotFoundError, /no such GGUF file/);
  });

  it('rejects a file with a bad magic number', async () => {
    const { bytes } = await sample();
    const path = tmp('bad-magic.gguf');
    writeFileSync(path, Buffer.concat([Buffer.from('GGML'), bytes.subarray(4)]));
    await rejects(path, ModelError, /not a GGUF file \(bad magic "GGML"/);
    const text = tmp('text.gguf');
    writeFileSync(text, 'code,title\n1,Teachers\n');
    await rejects(text, ModelError, /bad magic/);
    const empty = tmp('empty.gguf');
    writeFileSync(empty, '');
    await rejects(empty, ModelError, /not a GGUF file/);
  });

  it('rejects unsupported versions', async () => {
    const { bytes } = await sample();
    for (const v of [1, 4, 0x03000000]) {
      const copy = Buffer.from(bytes);
      copy.writeUInt32LE(v, 4);
      const path = tmp(`v${v}.gguf`);
      writeFileSync(path, copy);
      await rejects(path, ModelError, new RegExp(`unsupported GGUF version ${v}`));
    }
  });

  it('reports truncation anywhere: in the header, the metadata, the tensor infos or the data', async () => {
    const { path, bytes, dataOffset } = await sample();
    for (const cut of [6, 20, 40, 70, 100, dataOffset - 20, dataOffset + 1, bytes.length - 33]) {
      const p = tmp(`cut-${cut}.gguf`);
      writeFileSync(p, bytes.subarray(0, cut));
      await rejects(p, ModelError, /truncated GGUF file/);
    }
    // The intact file reads.
    expect((await readGguf(path)).tensors).toHaveLength(1);
  });

  it('rejects absurd lengths without trying to allocate them', async () => {
    const { bytes } = await sample();
    // The first key's length field starts right after magic, version and the two counts.
    const copy = Buffer.from(bytes);
    copy.writeBigUInt64LE(2n ** 40n, 24);
    const path = tmp('huge-string.gguf');
    writeFileSync(path, copy);
    await rejects(path, ModelError, /truncated GGUF file/);
    const counts = Buffer.from(bytes);
    counts.writeBigUInt64LE(2n ** 62n, 16);
    const p2 = tmp('huge-count.gguf');
    writeFileSync(p2, counts);
    await rejects(p2, ModelError, /GGUF file/);
  });

  it('rejects an invalid value type and a corrupt tensor type', async () => {
    const { bytes } = await sample();
    const typeAt = 24 + 8 + 'general.architecture'.length;
    const copy = Buffer.from(bytes);
    copy.writeUInt32LE(99, typeAt);
    const path = tmp('bad-type.gguf');
    writeFileSync(path, copy);
    await rejects(path, ModelError, /"general.architecture" has an invalid type 99/);

    // Tensor info: name (u64 length 1, "w"), n_dims u32, two u64 dims, then the ggml type u32.
    const nameAt = bytes.indexOf(Buffer.from([1, 0, 0, 0, 0, 0, 0, 0, 0x77]));
    expect(nameAt).toBeGreaterThan(0);
    const t = Buffer.from(bytes);
    t.writeUInt32LE(200, nameAt + 9 + 4 + 16);
    const p2 = tmp('bad-ggml-type.gguf');
    writeFileSync(p2, t);
    await rejects(p2, ModelError, /tensor "w" has an unknown ggml type 200/);
  });

  it('accepts a file that ends right after the last tensor data, and not one byte earlier', async () => {
    const path = tmp();
    await writeGguf(path, { metadata: [], tensors: [{ name: 'w', dims: [3], type: 'f32', data: ramp(3) }] });
    const file = await readGguf(path);
    const end = file.dataOffset + 12;
    expect(file.fileSize).toBe(file.dataOffset + 32); // 12 data bytes + 20 padding
    truncateSync(path, end);
    expect(await readTensorData(await readGguf(path), 'w')).toEqual(ramp(3));
    truncateSync(path, end - 1);
    await rejects(path, ModelError, new RegExp(`truncated GGUF file: tensor "w" data would end at offset ${end}, but the file ends at ${end - 1}`));
  });
});
