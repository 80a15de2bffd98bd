#!/usr/bin/env node
// The one test command (`pnpm test`): build, lint, type-check, test and pack-check everything.
// A script rather than a package.json one-liner so the environment is set the same way on
// every OS (Windows shells cannot prefix `VAR=1 cmd`).
import { spawnSync } from 'node:child_process';

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

step('build', 'pnpm', ['exec', 'turbo', 'run', 'build', '--output-logs=errors-only']);
step('lint', 'pnpm', ['exec', 'eslint', '.']);
step('typecheck', 'pnpm', ['exec', 'turbo', 'run', 'typecheck', '--output-logs=errors-only']);
// Integration tests start real processes and sockets; one package at a time keeps a 2-core machine responsive.
step('test', 'pnpm', ['exec', 'turbo', 'run', 'test', 'pack:check', '--concurrency=1']);
