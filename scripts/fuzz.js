#!/usr/bin/env node
// `npm run fuzz -- --runs N [--seed S]`: a long pass of test/fuzz.e2e-spec.ts (requests generated from
// openapi/openapi.json; fails on any 5xx), N runs per operation (npm test runs a modest number).
const { spawnSync } = require('node:child_process');
const { join } = require('node:path');

function option(name, fallback) {
  const args = process.argv.slice(2);
  const i = args.indexOf(`--${name}`);
  if (i === -1) return fallback;
  const value = Number(args[i + 1]);
  if (!Number.isInteger(value) || value < 1) {
    console.error(`fuzz: --${name} needs a positive integer`);
    process.exit(2);
  }
  return value;
}

const runs = option('runs', 1000);
const seed = option('seed', undefined);
const env = { ...process.env, FUZZ_RUNS: String(runs), ...(seed === undefined ? {} : { FUZZ_SEED: String(seed) }) };
const started = Date.now();
const result = spawnSync(process.execPath, [join(__dirname, 'run-tests.js'), 'test/fuzz.e2e-spec.ts'], {
  cwd: join(__dirname, '..'),
  stdio: 'inherit',
  env,
});
console.log(`fuzz: ${runs} runs per operation in ${((Date.now() - started) / 1000).toFixed(1)} s`);
process.exit(result.status ?? 1);
