#!/usr/bin/env node
// Runs turbo with telemetry off (it would try to reach the network) on every OS.
import { spawnSync } from 'node:child_process';

const result = spawnSync('turbo', process.argv.slice(2), {
  stdio: 'inherit',
  env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1' },
  shell: process.platform === 'win32',
});
process.exit(result.status ?? 1);
