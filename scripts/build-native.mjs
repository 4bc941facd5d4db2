#!/usr/bin/env node
// Builds llama.cpp and the addon with cmake-js into build/Release/labor_llm.node.
//
//   LABOR_LLM_GPU=cuda   build with CUDA (GGML_CUDA=ON)
//   LABOR_LLM_GPU=metal  build with Metal (GGML_METAL=ON; on by default on Apple silicon)
//   LABOR_LLM_CMAKE_ARGS="-DGGML_NATIVE=OFF ..."  extra CMake definitions
//   LABOR_LLM_JOBS=N     parallel compile jobs (default: all cores)
// cmake-js keeps the build folder, so a second run only recompiles what changed. ccache is used
// when installed (llama.cpp's GGML_CCACHE).
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const cmakeJs = join(dirname(require.resolve('cmake-js/package.json')), 'bin', 'cmake-js');

const gpu = (process.env.LABOR_LLM_GPU ?? 'cpu').toLowerCase();
const defs = [];
if (gpu === 'cuda') defs.push('--CDGGML_CUDA=ON');
else if (gpu === 'metal') defs.push('--CDGGML_METAL=ON');
else if (gpu === 'cpu') {
  if (process.platform === 'darwin') defs.push('--CDGGML_METAL=OFF');
} else {
  console.error(`labor-llm: LABOR_LLM_GPU must be cpu, cuda or metal, not "${gpu}"`);
  process.exit(1);
}
for (const arg of (process.env.LABOR_LLM_CMAKE_ARGS ?? '').split(/\s+/).filter(Boolean)) {
  defs.push(arg.startsWith('-D') ? `--CD${arg.slice(2)}` : arg);
}
const jobs = process.env.LABOR_LLM_JOBS ?? String(cpus().length);
const verb = process.argv.includes('--force') ? 'rebuild' : 'compile';
const args = [cmakeJs, verb, '--directory', root, '--parallel', jobs, '--log-level', 'warn', ...defs];
console.log(`building the native engine (${gpu}) with cmake-js ${verb}`);
const res = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit', env: { ...process.env } });
process.exit(res.status ?? 1);
