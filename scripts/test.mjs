#!/usr/bin/env node
// The one test command (`pnpm test`): build, lint, type-check, test and pack-check everything.
// A script rather than a package.json one-liner so the environment is set the same way on
// every OS (Windows shells cannot prefix `VAR=1 cmd`).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const env = { ...process.env, TURBO_TELEMETRY_DISABLED: '1', FORCE_COLOR: process.env.FORCE_COLOR ?? '0' };
const shell = process.platform === 'win32';

function step(title, command, args) {
  process.stdout.write(`\n== ${title}: ${command} ${args.join(' ')}\n`);
  const started = Date.now();
  const result = spawnSync(command, args, { stdio: 'inherit', env, shell });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (result.status !== 0) {
    process.stderr.write(`\n${title} failed (exit ${result.status ?? result.signal}) after ${seconds}s\n`);
    process.exit(result.status ?? 1);
  }
  process.stdout.write(`== ${title} passed in ${seconds}s\n`);
}

systemPackages();
step('build', 'pnpm', ['exec', 'turbo', 'run', 'build', '--output-logs=errors-only']);
step('lint', 'pnpm', ['exec', 'eslint', '.']);
step('typecheck', 'pnpm', ['exec', 'turbo', 'run', 'typecheck', '--output-logs=errors-only']);
// Integration tests start real processes and sockets; one package at a time keeps a 2-core machine responsive.
await tests();

/** Runs every package's tests, passing their output through, and ends with one plain tally line. */
async function tests() {
  const args = ['exec', 'turbo', 'run', 'test', 'pack:check', '--concurrency=1'];
  process.stdout.write(`\n== test: pnpm ${args.join(' ')}\n`);
  const started = Date.now();
  const child = spawn('pnpm', args, { stdio: ['ignore', 'pipe', 'inherit'], env, shell });
  let tail = '';
  let passed = 0;
  let failed = 0;
  child.stdout.on('data', (chunk) => {
    process.stdout.write(chunk);
    const lines = (tail + chunk.toString('utf8')).split('\n');
    tail = lines.pop() ?? '';
    for (const line of lines) {
      // vitest's summary: "Tests  12 passed | 1 failed (13)", possibly coloured.
      // eslint-disable-next-line no-control-regex -- stripping ANSI colour codes is the point
      const plain = line.replace(/\u001b\[[0-9;]*m/g, '');
      const summary = /\bTests\s+(.*)\(\d+\)\s*$/.exec(plain);
      if (!summary) continue;
      passed += Number(/(\d+) passed/.exec(summary[1])?.[1] ?? 0);
      failed += Number(/(\d+) failed/.exec(summary[1])?.[1] ?? 0);
    }
  });
  const code = await new Promise((resolve) => child.on('close', (status) => resolve(status ?? 1)));
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  process.stdout.write(`\n== test ${code === 0 ? 'passed' : 'failed'} in ${seconds}s\n`);
  process.stdout.write(`${passed} passed, ${failed} failed\n`);
  process.exit(code === 0 && failed === 0 ? 0 : code || 1);
}

/**
 * The tests use three programs from the system: python3 (the seed prototype's fixtures),
 * Debian's chromium (the web view, driven by playwright-core, which never downloads a browser)
 * and Debian's nats-server (the JetStream backend's servers; Debian puts it in /usr/sbin).
 * As root with apt-get (CI, a fresh machine) the missing ones are installed; otherwise the
 * tests that need them say they were skipped, and this says how to install them.
 */
function systemPackages() {
  if (process.platform !== 'linux') return;
  const missing = [];
  if (spawnSync('python3', ['--version'], { stdio: 'ignore' }).status !== 0) missing.push('python3');
  if (!existsSync('/usr/bin/chromium')) missing.push('chromium');
  const natsServer = process.env.NATS_SERVER || '/usr/sbin/nats-server';
  if (!existsSync(natsServer) && spawnSync('nats-server', ['--version'], { stdio: 'ignore' }).status !== 0) missing.push('nats-server');
  if (missing.length === 0) return;
  const root = process.getuid?.() === 0;
  const apt = spawnSync('apt-get', ['--version'], { stdio: 'ignore' }).status === 0;
  if (!root || !apt) {
    process.stdout.write(`\n== note: ${missing.join(', ')} missing; the tests that need them will be skipped (install: sudo apt-get install -y ${missing.join(' ')})\n`);
    return;
  }
  const aptEnv = { ...env, DEBIAN_FRONTEND: 'noninteractive' };
  process.stdout.write(`\n== installing ${missing.join(', ')} from Debian's packages (the tests use them)\n`);
  spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env: aptEnv });
  const result = spawnSync('apt-get', ['install', '-y', '-qq', ...missing], { stdio: 'inherit', env: aptEnv });
  if (result.status !== 0) process.stdout.write(`== could not install ${missing.join(', ')}; the tests that need them will be skipped\n`);
}
