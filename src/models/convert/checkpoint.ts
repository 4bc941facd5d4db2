/**
 * A Hugging Face checkpoint as the converter reads it: its small files (config.json, tokenizer files,
 * the shard index, adapter_config.json) in memory, the header of every safetensors shard, and a way to
 * stream the shards' bytes once, in order.
 *
 * The checkpoint is a directory or an archive as `finetune download` writes it (.tar.zst, .tar.gz or
 * plain .tar), read without unpacking it to disk: a tar stream can only be read front to back, so an
 * archive is read twice, once for the small files and the shard headers (which may come after the
 * weights), and once for the weights. Either way only one piece of one tensor is in memory at a time.
 */
import { createReadStream } from 'node:fs';
import { open, readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, posix } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { Decompress } from 'fzstd';
import tar from 'tar-stream';
import { InputError, NotFoundError } from '../../errors.js';
import { headerLength, parseHeader, type SafetensorsHeader } from './safetensors.js';

/** The small files the converter may read, by base name. */
const SMALL_FILES = new Set([
  'config.json',
  'tokenizer.model',
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'model.safetensors.index.json',
  'adapter_config.json',
]);
const SMALL_FILE_LIMIT = 64 << 20;

export interface Shard {
  /** Base name inside the checkpoint. */
  name: string;
  /** Where it is, for messages: a path, or "archive.tar.zst:dir/name". */
  location: string;
  size: number;
  header: SafetensorsHeader;
}

/** Exact reads over a stream of byte chunks. */
export class ByteReader {
  private chunk: Uint8Array = new Uint8Array(0);
  private pos = 0;
  /** Bytes consumed so far. */
  offset = 0;

  constructor(
    private readonly source: AsyncIterator<Uint8Array>,
    private readonly where: string,
  ) {}

  private async fill(): Promise<boolean> {
    while (this.pos >= this.chunk.length) {
      const next = await this.source.next();
      if (next.done) return false;
      this.chunk = next.value;
      this.pos = 0;
    }
    return true;
  }

  /** Up to `max` bytes (at least 1), as a view when the current chunk holds them. */
  async some(max: number): Promise<Uint8Array> {
    if (!(await this.fill())) throw new InputError(`truncated file: it ends at byte ${this.offset}`, { file: this.where });
    const n = Math.min(max, this.chunk.length - this.pos);
    const out = this.chunk.subarray(this.pos, this.pos + n);
    this.pos += n;
    this.offset += n;
    return out;
  }

  /** Exactly `n` bytes. */
  async read(n: number): Promise<Uint8Array> {
    const first = await (n === 0 ? Promise.resolve(new Uint8Array(0)) : this.some(n));
    if (first.length === n) return first;
    const out = new Uint8Array(n);
    out.set(first);
    let got = first.length;
    while (got < n) {
      const piece = await this.some(n - got);
      out.set(piece, got);
      got += piece.length;
    }
    return out;
  }

  async skip(n: number): Promise<void> {
    let left = n;
    while (left > 0) left -= (await this.some(left)).length;
  }
}

/** Reads a shard's header from the front of its byte stream. */
async function readShardHeader(reader: ByteReader, location: string, size: number): Promise<SafetensorsHeader> {
  const n = headerLength(location, await reader.read(Math.min(8, size)), size);
  return parseHeader(location, await reader.read(n), size - 8 - n);
}

export interface Checkpoint {
  /** The directory or archive, for messages. */
  path: string;
  files: Map<string, Buffer>;
  shards: Shard[];
  /** Where one of its files is, for messages: "dir/name" or "archive.tar.zst:folder/name". */
  locate(name: string): string;
  /** Streams every shard in `shards` order; each reader starts at the shard's first byte. */
  streamShards(): AsyncGenerator<{ shard: Shard; reader: ByteReader }>;
}

/** Opens a checkpoint directory or archive and reads its small files and shard headers. */
export async function openCheckpoint(path: string): Promise<Checkpoint> {
  let st;
  try {
    st = await stat(path);
  } catch {
    throw new NotFoundError(`checkpoint not found: ${path}`);
  }
  return st.isDirectory() ? openDirectory(path) : openArchive(path);
}

function orderShards(path: string, files: Map<string, Buffer>, found: string[]): string[] {
  const index = files.get('model.safetensors.index.json');
  const indexFile = `${path}/model.safetensors.index.json`;
  if (index === undefined) return found;
  let weightMap: Record<string, string>;
  try {
    weightMap = (JSON.parse(index.toString('utf8')) as { weight_map: Record<string, string> }).weight_map;
    if (typeof weightMap !== 'object' || weightMap === null) throw new Error('no weight_map object');
  } catch (err) {
    throw new InputError(`cannot read the shard index: ${(err as Error).message}`, {
      file: indexFile,
      field: 'weight_map',
    });
  }
  const named = [...new Set(Object.values(weightMap))];
  for (const n of named) {
    if (!found.includes(n)) {
      throw new InputError(`the index names shard "${n}", which the checkpoint does not have`, {
        file: indexFile,
        field: 'weight_map',
      });
    }
  }
  // The index's shards in the order they were found (for an archive, the order they come in).
  return found.filter((f) => named.includes(f));
}

function noWeights(path: string, names: string[]): InputError {
  const pickle = names.some((n) => n.endsWith('.bin') || n.endsWith('.pt') || n.endsWith('.pth'));
  return new InputError(
    pickle
      ? 'the checkpoint has PyTorch pickle weights (.bin/.pt) but no .safetensors files; only safetensors are read (pickles can run code)'
      : 'the checkpoint has no .safetensors weight files',
    { file: path },
  );
}

async function openDirectory(dir: string): Promise<Checkpoint> {
  const names = (await readdir(dir)).sort();
  const files = new Map<string, Buffer>();
  for (const n of names) if (SMALL_FILES.has(n)) files.set(n, await readFile(join(dir, n)));
  const found = names.filter((n) => n.endsWith('.safetensors'));
  const order = orderShards(dir, files, found);
  if (order.length === 0) throw noWeights(dir, names);
  const shards: Shard[] = [];
  for (const name of order) {
    const location = join(dir, name);
    const size = (await stat(location)).size;
    const fh = await open(location, 'r');
    try {
      const head = Buffer.alloc(Math.min(size, 8));
      await fh.read(head, 0, head.length, 0);
      const n = headerLength(location, head, size);
      const json = Buffer.alloc(n);
      await fh.read(json, 0, n, 8);
      shards.push({ name, location, size, header: parseHeader(location, json, size - 8 - n) });
    } finally {
      await fh.close();
    }
  }
  return {
    path: dir,
    files,
    shards,
    locate: (name) => join(dir, name),
    async *streamShards() {
      for (const shard of shards) {
        const stream = createReadStream(shard.location, { highWaterMark: 4 << 20 });
        try {
          yield { shard, reader: new ByteReader(stream[Symbol.asyncIterator](), shard.location) };
        } finally {
          stream.destroy();
        }
      }
    },
  };
}

/** A zstd decompressor as a stream (Node 20's zlib has none). */
function zstdDecompressor(): Transform {
  let sink: Transform | undefined;
  const d = new Decompress((chunk) => {
    sink!.push(Buffer.from(chunk));
  });
  sink = new Transform({
    transform(chunk: Buffer, _enc, done) {
      try {
        d.push(chunk);
        done();
      } catch (err) {
        done(err as Error);
      }
    },
    flush(done) {
      try {
        d.push(new Uint8Array(0), true);
        done();
      } catch (err) {
        done(err as Error);
      }
    },
  });
  return sink;
}

/** The archive's tar stream, decompressed by its magic bytes (not its name). */
async function tarStream(path: string): Promise<Readable> {
  const fh = await open(path, 'r');
  const magic = Buffer.alloc(4);
  try {
    await fh.read(magic, 0, 4, 0);
  } finally {
    await fh.close();
  }
  const raw = createReadStream(path, { highWaterMark: 4 << 20 });
  if (magic[0] === 0x1f && magic[1] === 0x8b) return raw.pipe(createGunzip());
  if (magic.readUInt32LE(0) === 0xfd2fb528) return raw.pipe(zstdDecompressor());
  return raw;
}

type TarEntry = AsyncIterable<Buffer> & { header: tar.Header; resume(): unknown };

/**
 * Every file entry of an archive, in order; the callback may read the entry's bytes or leave them.
 * `signal` stops the reading early (the promise then settles without reading the rest).
 */
async function forEachEntry(
  path: string,
  visit: (name: string, size: number, entry: TarEntry) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  const source = await tarStream(path);
  const extract = tar.extract();
  source.on('error', (err) => extract.destroy(err));
  source.pipe(extract);
  const stop = (): void => void extract.destroy(new Error('stopped'));
  signal?.addEventListener('abort', stop, { once: true });
  try {
    for await (const e of extract) {
      const entry = e as unknown as TarEntry;
      if (entry.header.type === 'file' || entry.header.type === 'contiguous-file') {
        await visit(posix.normalize(entry.header.name), entry.header.size ?? 0, entry);
      }
      entry.resume();
    }
  } catch (err) {
    if (signal?.aborted) return;
    if (err instanceof InputError) throw err;
    throw new InputError(`cannot read the archive: ${(err as Error).message}`, { file: path }, { cause: err });
  } finally {
    signal?.removeEventListener('abort', stop);
    source.destroy();
  }
}

async function openArchive(path: string): Promise<Checkpoint> {
  const small = new Map<string, Buffer>();
  const headers = new Map<string, { size: number; header: SafetensorsHeader }>();
  const all: string[] = [];
  await forEachEntry(path, async (name, size, entry) => {
    all.push(name);
    const base = basename(name);
    const location = `${path}:${name}`;
    if (SMALL_FILES.has(base) && size <= SMALL_FILE_LIMIT) {
      const parts: Buffer[] = [];
      for await (const c of entry) parts.push(c);
      small.set(name, Buffer.concat(parts));
    } else if (base.endsWith('.safetensors')) {
      const reader = new ByteReader(entry[Symbol.asyncIterator](), location);
      headers.set(name, { size, header: await readShardHeader(reader, location, size) });
    }
  });
  const roots = [...small.keys()].filter((n) => ['config.json', 'adapter_config.json'].includes(basename(n))).map(dirname);
  const root = [...new Set(roots)];
  if (root.length !== 1) {
    throw new InputError(
      root.length === 0
        ? 'the archive has no config.json or adapter_config.json: not a Hugging Face checkpoint'
        : `the archive holds several checkpoints (${root.join(', ')}); unpack it and convert one directory`,
      { file: path },
    );
  }
  const inRoot = (n: string): boolean => dirname(n) === root[0];
  const files = new Map<string, Buffer>();
  for (const [n, b] of small) if (inRoot(n)) files.set(basename(n), b);
  const found = [...headers.keys()].filter(inRoot).map((n) => basename(n));
  const order = orderShards(path, files, found);
  if (order.length === 0) throw noWeights(path, all.filter(inRoot));
  const shards: Shard[] = order.map((name) => {
    const full = root[0] === '.' ? name : `${root[0]}/${name}`;
    const h = headers.get(full)!;
    return { name, location: `${path}:${full}`, size: h.size, header: h.header };
  });
  return {
    path,
    files,
    shards,
    locate: (name) => `${path}:${root[0] === '.' ? name : `${root[0]}/${name}`}`,
    async *streamShards() {
      // A generator cannot yield from inside forEachEntry's callback: hand each entry over through a queue.
      const wanted = new Map(shards.map((s) => [s.location, s]));
      const queue: { shard: Shard; reader: ByteReader; done: () => void }[] = [];
      let wake: (() => void) | undefined;
      let finished = false;
      let failure: unknown;
      // Stops the reading when the consumer stops early (an error while converting).
      const stopped = new AbortController();
      const reading = forEachEntry(
        path,
        async (name, _size, entry) => {
          const shard = wanted.get(`${path}:${name}`);
          if (shard === undefined || stopped.signal.aborted) return;
          await new Promise<void>((done) => {
            queue.push({ shard, reader: new ByteReader(entry[Symbol.asyncIterator](), shard.location), done });
            wake?.();
          });
        },
        stopped.signal,
      ).then(
        () => {
          finished = true;
          wake?.();
        },
        (err: unknown) => {
          failure = err;
          finished = true;
          wake?.();
        },
      );
      try {
        for (;;) {
          const item = queue.shift();
          if (item !== undefined) {
            try {
              yield { shard: item.shard, reader: item.reader };
            } finally {
              item.done();
            }
            continue;
          }
          if (finished) break;
          await new Promise<void>((r) => (wake = r));
          wake = undefined;
        }
        if (failure !== undefined) throw failure;
      } finally {
        stopped.abort();
        for (const item of queue) item.done();
        await reading.catch(() => undefined);
      }
    },
  };
}
