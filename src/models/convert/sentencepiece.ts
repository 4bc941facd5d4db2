/**
 * SentencePiece `tokenizer.model` (a protobuf ModelProto) to the GGUF "llama" tokenizer.
 *
 * A hand-written reader of the few fields needed rather than protobufjs: the schema is fixed
 * (sentencepiece_model.proto), we read six scalar fields and one repeated message, and protobufjs
 * would need the .proto file shipped and parsed at run time to do the same. The wire format is
 * simple and stable: varints, 32/64-bit words and length-delimited fields.
 *
 * Fields read: ModelProto.pieces (1) {piece 1, score 2, type 3}; trainer_spec (2) {model_type 3,
 * unk_id 40, bos_id 41, eos_id 42, pad_id 43}; normalizer_spec (3) {add_dummy_prefix 3}.
 */
import { InputError } from '../../errors.js';

/** SentencePiece piece types; their numbers are llama.cpp's token types too (llama_token_type). */
export const TOKEN_TYPE = { normal: 1, unknown: 2, control: 3, userDefined: 4, unused: 5, byte: 6 } as const;

export interface SentencePieceModel {
  pieces: string[];
  scores: Float32Array;
  types: Int32Array;
  /** 1 unigram, 2 BPE, 3 word, 4 char. */
  modelType: number;
  unkId: number;
  bosId: number;
  eosId: number;
  padId: number;
  addDummyPrefix: boolean;
}

class Wire {
  pos = 0;
  constructor(
    readonly buf: Uint8Array,
    readonly file: string,
  ) {}

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  bad(why: string): InputError {
    return new InputError(`not a SentencePiece model: ${why} at byte ${this.pos}`, { file: this.file });
  }

  varint(): bigint {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (this.pos >= this.buf.length) throw this.bad('truncated varint');
      const b = this.buf[this.pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
    }
    throw this.bad('varint longer than 10 bytes');
  }

  /** An int32 field (negative values are sign-extended to 64 bits on the wire). */
  int32(): number {
    return Number(BigInt.asIntN(32, this.varint()));
  }

  bytes(): Uint8Array {
    const n = Number(this.varint());
    if (this.pos + n > this.buf.length) throw this.bad(`field of ${n} bytes runs past the end`);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  float(): number {
    if (this.pos + 4 > this.buf.length) throw this.bad('truncated float');
    const v = Buffer.from(this.buf.buffer, this.buf.byteOffset + this.pos, 4).readFloatLE(0);
    this.pos += 4;
    return v;
  }

  /** Reads a field key: [field number, wire type]. */
  key(): [number, number] {
    const k = Number(this.varint());
    return [k >>> 3, k & 7];
  }

  skip(wireType: number): void {
    switch (wireType) {
      case 0:
        this.varint();
        return;
      case 1:
        this.pos += 8;
        break;
      case 2:
        this.bytes();
        return;
      case 5:
        this.pos += 4;
        break;
      default:
        throw this.bad(`unsupported wire type ${wireType}`);
    }
    if (this.pos > this.buf.length) throw this.bad('field runs past the end');
  }

  /** Calls `on` for each field of this message; `on` returns false for fields it does not read. */
  fields(on: (field: number, wireType: number) => boolean): void {
    while (!this.done) {
      const [field, wireType] = this.key();
      if (!on(field, wireType)) this.skip(wireType);
    }
  }
}

export function readSentencePiece(file: string, bytes: Uint8Array): SentencePieceModel {
  const pieces: string[] = [];
  const scores: number[] = [];
  const types: number[] = [];
  const m = { modelType: 1, unkId: 0, bosId: 1, eosId: 2, padId: -1, addDummyPrefix: true };
  const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }); // a piece may be U+FEFF itself
  const top = new Wire(bytes, file);
  top.fields((field, wt) => {
    if (wt !== 2) return false;
    const sub = new Wire(top.bytes(), file);
    if (field === 1) {
      let piece = '';
      let score = 0;
      let type: number = TOKEN_TYPE.normal;
      sub.fields((f, w) => {
        if (f === 1 && w === 2) piece = utf8.decode(sub.bytes());
        else if (f === 2 && w === 5) score = sub.float();
        else if (f === 3 && w === 0) type = sub.int32();
        else return false;
        return true;
      });
      pieces.push(piece);
      scores.push(score);
      types.push(type);
    } else if (field === 2) {
      sub.fields((f, w) => {
        if (w !== 0) return false;
        if (f === 3) m.modelType = sub.int32();
        else if (f === 40) m.unkId = sub.int32();
        else if (f === 41) m.bosId = sub.int32();
        else if (f === 42) m.eosId = sub.int32();
        else if (f === 43) m.padId = sub.int32();
        else return false;
        return true;
      });
    } else if (field === 3) {
      sub.fields((f, w) => {
        if (f !== 3 || w !== 0) return false;
        m.addDummyPrefix = sub.varint() !== 0n;
        return true;
      });
    }
    // Other fields (self-test data, denormalizer) are skipped; their bytes were consumed above.
    return true;
  });
  if (pieces.length === 0) throw new InputError('not a SentencePiece model: it has no pieces', { file, field: 'pieces' });
  return { pieces, scores: Float32Array.from(scores), types: Int32Array.from(types), ...m };
}
