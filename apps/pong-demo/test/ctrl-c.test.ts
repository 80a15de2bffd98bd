import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { launch } from '@streampy/testing';

const PRESS_CTRL_C = fileURLToPath(new URL('./fixtures/ctrl-c.py', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../../..', import.meta.url));
// A terminal (a pseudo-terminal from python3's pty module) exists on Linux and macOS only.
const TERMINAL = process.platform !== 'win32' && spawnSync('python3', ['--version'], { stdio: 'ignore' }).status === 0;

describe("the README's `pnpm --filter pong-demo start`, stopped with Ctrl-C at a terminal", () => {
  it.skipIf(!TERMINAL)('exits 0 with the summary and no pnpm error', async () => {
    // Ctrl-C reaches pnpm, the script and the demo at once, and pnpm relays it once more:
    // the script execs node (no shell left to die of the signal) and the demo takes the
    // doubled SIGINT as one request.
    const run = await launch('python3', [PRESS_CTRL_C, 'Ctrl-C to stop', '60', 'pnpm', '--filter', 'pong-demo', 'start'], {
      cwd: REPO_ROOT,
      deadlineMs: 90_000,
    }).finished;
    expect(run.stdout).toMatch(/\nPRESSED True\n/);
    expect(run.stdout).toMatch(/balls: 1 seeded, 1 at the end: conserved/);
    expect(run.stdout).not.toMatch(/ELIFECYCLE|ERR_PNPM/);
    expect(run.stdout).toMatch(/\nEXIT 0\n$/);
  }, 120_000);
});
