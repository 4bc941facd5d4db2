#!/usr/bin/env node
// Puts the pinned llama.cpp source into vendor/llama.cpp.
//
// The source comes from the npm registry: node-llama-cpp@3.22.1 ships llama.cpp as a git bundle
// (llama/gitRelease.bundle). We fetch only that package's tarball (`npm pack`, which runs no
// scripts and installs no prebuilt binaries), extract the bundle, clone it and check the commit.
// The second run finds the right commit in place and does nothing.
//
// Offline or air-gapped machines can point LABOR_LLM_LLAMA_BUNDLE at a copy of the bundle.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const LLAMA_PACKAGE = 'node-llama-cpp@3.22.1';
export const LLAMA_COMMIT = 'de3ff815ea7d559ee917f063901b8986f038abc6';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dest = join(root, 'vendor', 'llama.cpp');

function git(args, cwd) {
  return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

function headOf(dir) {
  try {
    return git(['rev-parse', 'HEAD'], dir);
  } catch {
    return null;
  }
}

function fail(message) {
  console.error(`labor-llm: cannot set up vendor/llama.cpp: ${message}`);
  process.exit(1);
}

if (existsSync(join(dest, '.git'))) {
  const head = headOf(dest);
  if (head === LLAMA_COMMIT) {
    console.log(`vendor/llama.cpp is at ${LLAMA_COMMIT.slice(0, 10)}: nothing to do`);
    process.exit(0);
  }
  fail(`vendor/llama.cpp exists at commit ${head ?? '(unknown)'}, expected ${LLAMA_COMMIT}. Remove the folder and run the install again.`);
}
if (existsSync(dest)) fail('vendor/llama.cpp exists but is not a git checkout. Remove it and run the install again.');

const work = mkdtempSync(join(tmpdir(), 'labor-llm-llama-'));
try {
  let bundle = process.env.LABOR_LLM_LLAMA_BUNDLE;
  if (!bundle) {
    console.log(`fetching ${LLAMA_PACKAGE} from the npm registry (only its llama.cpp bundle is used)`);
    const out = execFileSync('npm', ['pack', LLAMA_PACKAGE, '--ignore-scripts', '--json', '--pack-destination', work], {
      cwd: work,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const tarball = join(work, JSON.parse(out)[0].filename);
    execFileSync('tar', ['-xzf', tarball, '-C', work, 'package/llama/gitRelease.bundle'], { stdio: 'inherit' });
    bundle = join(work, 'package', 'llama', 'gitRelease.bundle');
  }
  if (!existsSync(bundle)) fail(`bundle not found at ${bundle}`);
  mkdirSync(dirname(dest), { recursive: true });
  const staging = `${dest}.partial`;
  rmSync(staging, { recursive: true, force: true });
  execFileSync('git', ['clone', '--quiet', '--no-checkout', bundle, staging], { stdio: 'inherit' });
  execFileSync('git', ['-c', 'advice.detachedHead=false', 'checkout', '--quiet', LLAMA_COMMIT], { cwd: staging, stdio: 'inherit' });
  const head = headOf(staging);
  if (head !== LLAMA_COMMIT) fail(`the bundle checked out ${head}, expected ${LLAMA_COMMIT}`);
  // Rename only when complete, so a killed install never leaves a half checkout that looks done.
  execFileSync('mv', [staging, dest]);
  console.log(`vendor/llama.cpp checked out at ${LLAMA_COMMIT}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
