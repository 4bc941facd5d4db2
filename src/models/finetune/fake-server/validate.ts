/**
 * The fake service's own check of uploaded training data (the rules of the API reference, 1.4.1).
 * Written separately from the client's validator on purpose: a test double that shared the code
 * under test could not catch its mistakes.
 */

export interface FakeValidation {
  valid: boolean;
  format?: string;
  lines: number;
  error?: string;
}

const FORMATS: Array<[string, string[]]> = [
  ['GENERAL', ['text']],
  ['CONVERSATION', ['messages']],
  ['INSTRUCTION', ['prompt', 'completion']],
  ['PREFERENCE', ['input', 'preferred_output', 'non_preferred_output']],
];

export function validateUpload(bytes: Buffer, accept: readonly string[] = ['GENERAL', 'CONVERSATION', 'INSTRUCTION', 'PREFERENCE']): FakeValidation {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return { valid: false, lines: 0, error: 'File is not valid UTF-8' };
  }
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  if (lines.length === 0) return { valid: false, lines: 0, error: 'File is empty' };
  let format: string | undefined;
  for (let i = 0; i < lines.length; i++) {
    const n = i + 1;
    let obj: unknown;
    try {
      obj = JSON.parse(lines[i] as string);
    } catch {
      return { valid: false, lines: lines.length, error: `Line ${n}: invalid JSON` };
    }
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
      return { valid: false, lines: lines.length, error: `Line ${n}: expected a JSON object` };
    }
    const keys = Object.keys(obj);
    const found = FORMATS.filter(([, req]) => req.some((k) => keys.includes(k)));
    if (found.length !== 1) {
      return { valid: false, lines: lines.length, error: `Line ${n}: ${found.length === 0 ? 'no known dataset format' : 'ambiguous dataset format'}` };
    }
    const [name, req] = found[0] as [string, string[]];
    if (!accept.includes(name)) return { valid: false, lines: lines.length, error: `Line ${n}: format ${name} is not accepted` };
    const extra = keys.find((k) => !req.includes(k) && !(name === 'CONVERSATION' && k === 'tools'));
    if (extra !== undefined) return { valid: false, lines: lines.length, error: `Line ${n}: unexpected column "${extra}"` };
    const missing = req.find((k) => !keys.includes(k));
    if (missing !== undefined) return { valid: false, lines: lines.length, error: `Line ${n}: missing column "${missing}"` };
    if (format !== undefined && format !== name) {
      return { valid: false, lines: lines.length, error: `Line ${n}: format ${name} differs from the file's format ${format}` };
    }
    format = name;
  }
  return { valid: true, format: format as string, lines: lines.length };
}
