// Builds the service once (`nest build`: the same compiler, Swagger plugin and assets as `npm run build`)
// into dist-test/, for the tests and benchmarks that run it as a real process (`node dist-test/main.js`).
// Jest's globalSetup; skipped when the sources have not changed since the last build (a content hash).
'use strict';
const { execFileSync } = require('node:child_process');
const { createHash } = require('node:crypto');
const { existsSync, readdirSync, readFileSync, writeFileSync } = require('node:fs');
const { join, relative } = require('node:path');

const root = join(__dirname, '..', '..');
const outDir = join(root, 'dist-test');
const stampFile = join(outDir, '.sources-sha256');
const serviceMain = join(outDir, 'main.js');

function sourcesHash() {
  const hash = createHash('sha256');
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(dir, entry.name);
      // Byte-code caches come and go (a test that imports the sandbox package writes one): not sources.
      if (entry.name === '__pycache__' || entry.name.endsWith('.pyc')) continue;
      if (entry.isDirectory()) walk(path);
      else if (!entry.name.endsWith('.spec.ts'))
        hash.update(relative(root, path)).update('\0').update(readFileSync(path)).update('\0');
    }
  };
  walk(join(root, 'src'));
  for (const file of ['tsconfig.json', 'tsconfig.test-build.json', 'nest-cli.json'])
    hash.update(readFileSync(join(root, file)));
  return hash.digest('hex');
}

function buildService() {
  const hash = sourcesHash();
  if (existsSync(serviceMain) && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === hash) return;
  const nest = require.resolve('@nestjs/cli/bin/nest.js', { paths: [root] });
  execFileSync(process.execPath, [nest, 'build', '--path', 'tsconfig.test-build.json'], {
    cwd: root,
    stdio: 'inherit',
  });
  writeFileSync(stampFile, hash);
}

module.exports = buildService;
module.exports.serviceMain = serviceMain;
