import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isAlive, launch, type Finished, type Running } from '@streampy/testing';

export const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
export const REPO_ROOT = fileURLToPath(new URL('../../..', import.meta.url));

/** Every pid a test started or learned of: killed after each test if still alive. */
export const pids = new Set<number>();

export { isAlive };

export function killLeftovers(): void {
  for (const pid of pids) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  pids.clear();
}

/** A fresh folder with `file` holding `text`; returns the file's path. */
export function topologyFile(text: string, file = 'topology.yaml'): string {
  const dir = mkdtempSync(join(tmpdir(), 'streampy-topology-'));
  const path = join(dir, file);
  writeFileSync(path, text);
  return path;
}

export type { Finished, Running };

/** Runs `streampy-run ...args` from the repository root; killed after `deadlineMs`. With `ipc`, runtime's `requestStop` stops it. */
export function run(args: readonly string[], deadlineMs = 90_000, ipc = false): Running {
  return launch(process.execPath, [CLI, ...args], { cwd: REPO_ROOT, deadlineMs, track: (pid) => pids.add(pid), ipc });
}

/** The JSON lines of a run's stdout, by their `event`. */
export function jsonLines(stdout: string): Map<string, Record<string, unknown>> {
  const lines = new Map<string, Record<string, unknown>>();
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    const value = JSON.parse(line) as Record<string, unknown>;
    if (typeof value.event === 'string') lines.set(value.event, value);
  }
  return lines;
}
