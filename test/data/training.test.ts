import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Worker } from '../../src/data/panel/types.js';
import { loadTaxonomy } from '../../src/data/taxonomy/taxonomy.js';
import { getTemplate } from '../../src/data/template/index.js';
import { formatTrainingFile, trainingExamples, writeTrainingFile } from '../../src/data/training/index.js';

const taxonomy = loadTaxonomy();
const resume = getTemplate('resume', { taxonomy });
const w: Worker = {
  id: 'w1',
  dataset: 'NLSY97',
  birthYear: 1981,
  gender: 'male',
  ethnicity: 'black',
  region: 'West',
  records: [
    { year: 2000, code: '9001', education: 'high school diploma' },
    { year: 2001, code: '9002', education: 'high school diploma' },
  ],
};
const preamble =
  '<A Resume from the NLSY97 Dataset>\n' +
  'The following is the resume of a male black US worker residing in the west region.\n' +
  'The worker has the following work experience on the resume, one entry per line, including job code, year, education level and a description of the job:\n';
const text =
  preamble +
  '2000 to 2001 (high school diploma): In education\n' +
  '2001 to present (high school diploma): Unemployed\n' +
  '<END OF RESUME>';

describe('training examples', () => {
  it('resume mode splits each text before its first record line', () => {
    const [ex] = trainingExamples([w], resume);
    expect(ex?.prompt).toBe(preamble);
    expect((ex?.prompt ?? '') + (ex?.completion ?? '')).toBe(text);
  });

  it('transitions mode gives one example per transition', () => {
    const ex = trainingExamples([w], resume, 'transitions');
    expect(ex).toEqual([{ prompt: resume.prompt(w, 1), completion: ' Unemployed\n' }]);
  });
});

describe('training files (byte-exact)', () => {
  const examples = trainingExamples([w, w], resume);

  it('together: {"text": ...} JSON lines', () => {
    const f = formatTrainingFile(examples, 'together');
    expect(f.content).toBe(`${JSON.stringify({ text })}\n${JSON.stringify({ text })}\n`);
    expect(f.content.split('\n')[0]).toBe(
      '{"text":"<A Resume from the NLSY97 Dataset>\\nThe following is the resume of a male black US worker residing in the west region.\\nThe worker has the following work experience on the resume, one entry per line, including job code, year, education level and a description of the job:\\n2000 to 2001 (high school diploma): In education\\n2001 to present (high school diploma): Unemployed\\n<END OF RESUME>"}',
    );
    expect(f.report).toEqual({
      format: 'together',
      examples: 2,
      bytes: Buffer.byteLength(f.content),
      characters: 2 * text.length,
      tokens: 2 * Math.ceil(text.length / 4),
      tokenizer: 'approximate (characters / 4)',
    });
  });

  it('openai-chat: system, user and assistant messages', () => {
    const f = formatTrainingFile(trainingExamples([w], resume, 'transitions'), 'openai-chat', { systemPrompt: 'S' });
    const line = JSON.parse(f.content.trim()) as { messages: { role: string; content: string }[] };
    expect(line.messages).toEqual([
      { role: 'system', content: 'S' },
      { role: 'user', content: resume.prompt(w, 1) },
      { role: 'assistant', content: 'Unemployed' },
    ]);
    expect(f.content.endsWith('}\n')).toBe(true);
  });

  it('text: texts separated by a blank line, with a pluggable token counter', () => {
    const f = formatTrainingFile(examples, 'text', { countTokens: (s) => s.split(/\s+/).length });
    expect(f.content).toBe(`${text}\n\n${text}\n`);
    expect(f.report.tokens).toBe(2 * text.split(/\s+/).length);
    expect(f.report.tokenizer).toBe('custom');
    expect(formatTrainingFile([], 'text').content).toBe('');
  });

  it('rejects unknown formats and writes files whose size is reported', async () => {
    expect(() => formatTrainingFile(examples, 'csv' as 'text')).toThrow(/unknown training file format "csv": valid formats are together, openai-chat, text/);
    const path = join(mkdtempSync(join(tmpdir(), 'labor-llm-training-')), 'train.jsonl');
    const report = await writeTrainingFile(path, examples, 'together');
    expect(statSync(path).size).toBe(report.bytes);
    expect(readFileSync(path, 'utf8')).toBe(formatTrainingFile(examples, 'together').content);
    expect(report.path).toBe(path);
  });
});
