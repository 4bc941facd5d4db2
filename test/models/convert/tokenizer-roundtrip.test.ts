/**
 * Converted tokenizers against their sources: a checkpoint whose tokenizer files were derived from
 * llama.cpp's vocabulary GGUFs converts back to the same `tokenizer.*` arrays, and the engine
 * tokenizes a few hundred strings (titles, resume lines, unicode, digits) to exactly the same tokens
 * as with the source vocabulary.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { convertModel } from '../../../src/models/convert/convert-model.js';
import { Model } from '../../../src/engine/model.js';
import { loadTokenizer, readGguf, type VocabName } from '../../../src/models/gguf/index.js';
import { randomLlamaWeights, writeHfCheckpoint, type HfShape } from '../../helpers/hf-checkpoint.js';
import { tinyModelPath } from '../../helpers/models.js';
import { occTitles, socTitles, PROMPTS } from '../../helpers/engine-fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'convert-tok-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function strings(): string[] {
  const titles = [...occTitles().slice(0, 150), ...socTitles().slice(0, 100)];
  const extra = [
    ...PROMPTS,
    ...PROMPTS.flatMap((p) => p.split('\n')),
    '1990 to 1991 (college): Cooks',
    '2019: 12345 678901 3.14159 -42 0007 1e10',
    'Ünïcödé wörkers: Straße, naïve café, Ελληνικά, русский, 中文职业, 日本語の仕事, 한국어',
    'emoji 👩‍🔧🧑‍🍳 and tabs\tand\r\nwindows lines',
    '   leading and trailing spaces   ',
    "it's they're we've I'm you'll he'd O'Brien",
    '<s> </s> <|begin_of_text|> <unk> literal specials',
    'a',
    ' ',
    '\n\n\n',
    'Ａｌｌ ｗｉｄｅ ｆｕｌｌ ｗｉｄｔｈ',
    '₹1,00,000 €5 £3 ¥2000 $4.50',
  ];
  return [...titles, ...titles.map((t) => ` ${t}\n`), ...extra];
}

async function check(vocab: VocabName, shape: HfShape): Promise<void> {
  const ckpt = join(dir, vocab);
  await writeHfCheckpoint({ dir: ckpt, shape, weights: randomLlamaWeights(shape, 3, false), vocab, dtype: 'F32' });
  const out = join(dir, `${vocab}.gguf`);
  await convertModel({ input: ckpt, out, type: 'f16' });

  const source = await loadTokenizer(vocab);
  const converted = (await readGguf(out)).metadata;
  for (const [key, value] of source.metadata) expect(converted.get(key), key).toEqual(value);

  const a = await Model.load(out, { threads: 1 });
  const b = await Model.load(await tinyModelPath(vocab), { threads: 1 });
  try {
    const list = strings();
    expect(list.length).toBeGreaterThan(300);
    for (const s of list) {
      for (const addSpecial of [false, true]) {
        expect(Array.from(a.tokenize(s, { addSpecial })), s).toEqual(Array.from(b.tokenize(s, { addSpecial })));
      }
    }
  } finally {
    await a.free();
    await b.free();
  }
}

describe('converted tokenizers', () => {
  it('SentencePiece tokenizer.model gives the source vocabulary and its tokens', async () => {
    await check('llama-spm', { vocab: 32000, hidden: 32, layers: 1, heads: 2, kvHeads: 2, ff: 32, ropeTheta: 10000, rmsEps: 1e-5, tied: true });
  });
  it('BPE tokenizer.json gives the source vocabulary and its tokens', async () => {
    await check('llama-bpe', { vocab: 128256, hidden: 32, layers: 1, heads: 2, kvHeads: 2, ff: 32, ropeTheta: 500000, rmsEps: 1e-5, tied: true });
  });
});
