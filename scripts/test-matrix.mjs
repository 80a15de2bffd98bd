#!/usr/bin/env node
// Runs the test command (scripts/test.mjs) under several Node.js major versions on this machine,
// as the CI workflow does across runners. Node itself comes from the npm registry (`node@22`), so
// no version manager is needed: we ask that package for its binary and put it first on PATH.
//
//   pnpm test:matrix            # Node 20 (this one), 22 and 24
//   pnpm test:matrix 22         # just one
import { spawnSync } from 'node:child_process';
import { dirname, delimiter } from 'node:path';

const versions = process.argv.slice(2).filter((a) => a !== '--');
const wanted = versions.length > 0 ? versions : ['20', '22', '24'];
const shell = process.platform === 'win32';

function nodeBinary(major) {
  if (process.versions.node.split('.')[0] === major) return process.execPath;
  const probe = spawnSync('npx', ['-y', `node@${major}`, '-p', 'process.execPath'], { encoding: 'utf8', shell });
  if (probe.status !== 0) {
    throw new Error(`could not get Node ${major} from the registry (npx -y node@${major}): ${probe.stderr.trim()}`);
  }
  return probe.stdout.trim();
}

const results = [];
for (const major of wanted) {
  const binary = nodeBinary(major);
  const env = {
    ...process.env,
    PATH: `${dirname(binary)}${delimiter}${process.env.PATH ?? ''}`,
    TURBO_TELEMETRY_DISABLED: '1',
    // A cached build from another Node version would prove nothing.
    TURBO_FORCE: 'true',
  };
  const version = spawnSync('node', ['--version'], { env, encoding: 'utf8', shell }).stdout.trim();
  process.stdout.write(`\n######## Node ${version} (${binary})\n`);
  const started = Date.now();
  const run = spawnSync('node', ['scripts/test.mjs'], { env, stdio: 'inherit', shell });
  results.push({ major, version, ok: run.status === 0, seconds: Math.round((Date.now() - started) / 1000) });
}

process.stdout.write('\nNode matrix:\n');
for (const r of results) process.stdout.write(`  ${r.version.padEnd(10)} ${r.ok ? 'passed' : 'FAILED'} in ${r.seconds}s\n`);
const failed = results.filter((r) => !r.ok).length;
process.stdout.write(`${results.length - failed} passed, ${failed} failed\n`);
process.exit(failed === 0 ? 0 : 1);
