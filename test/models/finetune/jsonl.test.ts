import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError } from '../../../src/errors.js';
import { validateTrainingJsonl } from '../../../src/models/finetune/hosted/index.js';
import { tempDir, writeChatJsonl, writeTextJsonl } from '../../helpers/finetune.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

function file(name: string, content: string | Buffer): string {
  const p = join(tmp.dir, name);
  writeFileSync(p, content);
  return p;
}

async function failure(path: string, provider?: 'together' | 'openai'): Promise<InputError> {
  const err = await validateTrainingJsonl(path, provider ? { provider } : {}).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(InputError);
  return err as InputError;
}

describe('validateTrainingJsonl', () => {
  it('accepts LABOR-LLM text files and chat files, counting examples', async () => {
    const t = writeTextJsonl(join(tmp.dir, 'text.jsonl'), 7);
    expect(await validateTrainingJsonl(t)).toMatchObject({ format: 'text', lines: 7 });
    const c = writeChatJsonl(join(tmp.dir, 'chat.jsonl'), 3);
    expect(await validateTrainingJsonl(c, { provider: 'openai' })).toMatchObject({ format: 'conversation', lines: 3 });
    // CRLF line ends, no final newline, a BOM
    const crlf = file('crlf.jsonl', '\ufeff{"text": "a"}\r\n{"text": "b"}');
    expect(await validateTrainingJsonl(crlf)).toMatchObject({ lines: 2 });
  });

  it('names the line (and column) of invalid JSON', async () => {
    const p = file('broken.jsonl', '{"text": "ok"}\n{"text": "ok"}\n{"text": "no end}\n');
    const e = await failure(p);
    expect(e.location).toMatchObject({ file: p, line: 3 });
    expect(e.message).toMatch(/broken\.jsonl:3(:\d+)?: not valid JSON/);
    const q = file('comma.jsonl', '{"text": "a",}\n');
    expect((await failure(q)).location).toMatchObject({ line: 1, column: 14 });
  });

  it('rejects non-objects, empty lines, mixed and unknown formats, extra and ill-typed fields', async () => {
    expect((await failure(file('arr.jsonl', '["x"]\n'))).message).toMatch(/:1: each line must be a JSON object, found an array/);
    expect((await failure(file('blank.jsonl', '{"text": "a"}\n\n{"text": "b"}\n'))).location).toMatchObject({ line: 2 });
    expect((await failure(file('both.jsonl', '{"text": "a", "messages": []}\n'))).message).toMatch(/mixes the formats "text" and "conversation"/);
    expect((await failure(file('none.jsonl', '{"body": "a"}\n'))).message).toMatch(/no training field.*found "body"/);
    const extra = await failure(file('extra.jsonl', '{"text": "a"}\n{"text": "b", "worker_id": 3}\n'));
    expect(extra.location).toMatchObject({ line: 2, field: 'worker_id' });
    expect((await failure(file('num.jsonl', '{"text": 5}\n'))).location).toMatchObject({ field: 'text' });
    expect((await failure(file('half.jsonl', '{"prompt": "a"}\n'))).location).toMatchObject({ field: 'completion' });
    const roles = await failure(file('roles.jsonl', '{"messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]}\n'));
    expect(roles.message).toMatch(/two consecutive "user" messages/);
    const noAsst = await failure(file('noasst.jsonl', '{"messages": [{"role": "user", "content": "a"}]}\n'));
    expect(noAsst.message).toMatch(/at least one "assistant"/);
    const badRole = await failure(file('badrole.jsonl', '{"messages": [{"role": "bot", "content": "a"}]}\n'));
    expect(badRole.location?.field).toBe('messages[0].role');
  });

  it('rejects invalid UTF-8, empty files, wrong extensions, missing files, and plain text for OpenAI', async () => {
    const bin = file('bin.jsonl', Buffer.concat([Buffer.from('{"text": "a"}\n{"text": "'), Buffer.from([0xff, 0xfe]), Buffer.from('"}\n')]));
    expect((await failure(bin)).message).toMatch(/bin\.jsonl:2: not valid UTF-8/);
    expect((await failure(file('empty.jsonl', ''))).message).toMatch(/empty/);
    expect((await failure(file('data.json', '{"text": "a"}\n'))).message).toMatch(/\.jsonl/);
    expect((await failure(join(tmp.dir, 'missing.jsonl'))).message).toMatch(/missing\.jsonl: cannot read/);
    const t = writeTextJsonl(join(tmp.dir, 'text2.jsonl'), 1);
    expect((await failure(t, 'openai')).message).toMatch(/OpenAI fine-tuning API has no plain-text format/);
  });

  it('streams: a line split across read chunks is parsed whole', async () => {
    const long = 'x'.repeat(200_000);
    const p = file('long.jsonl', `${JSON.stringify({ text: long })}\n${JSON.stringify({ text: 'y' })}\n{bad\n`);
    expect((await failure(p)).location).toMatchObject({ line: 3 });
  });
});
