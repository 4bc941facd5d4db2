/**
 * The `--lora FILE[:SCALE]` flag of the commands that load a model (score, eval, bench --bounded):
 * LoRA adapter GGUFs (`labor-llm model convert ADAPTER --base MODEL.gguf`) applied at load.
 */
import { InputError } from '../errors.js';
import type { LoraAdapter } from '../engine/native.js';

export const LORA_OPTION = {
  type: 'string',
  array: true,
  describe: 'LoRA adapter GGUF applied at load, FILE or FILE:SCALE (default scale 1); repeat for several',
} as const;

/** Parses the flag's values; a trailing ":number" is the scale (a path may itself contain colons). */
export function parseLoraOption(values: readonly (string | number)[] | string | undefined): LoraAdapter[] {
  if (values === undefined) return [];
  const list = Array.isArray(values) ? values : [values];
  return list.map((raw) => {
    const v = String(raw);
    const m = /^(.*):([-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?)$/i.exec(v);
    const path = m ? m[1]! : v;
    const scale = m ? Number(m[2]) : 1;
    if (path === '') throw new InputError(`--lora "${v}" names no file`);
    if (!Number.isFinite(scale)) throw new InputError(`--lora "${v}": the scale must be a finite number`);
    return { path, scale };
  });
}
