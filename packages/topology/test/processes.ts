import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isAlive } from '@streampy/testing';

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

export interface Finished {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface Running {
  readonly process: ChildProcess;
  readonly finished: Promise<Finished>;
  stdout(): string;
  stderr(): string;
}

/** Runs `streampy-run ...args` from the repository root; killed after `deadlineMs`. */
export function run(args: readonly string[], deadlineMs = 90_000): Running {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid !== undefined) pids.add(child.pid);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
  child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  const finished = new Promise<Finished>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`streampy-run ${args.join(' ')} still running after ${deadlineMs} ms; stderr: ${stderr.slice(-2000)}`));
    }, deadlineMs);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
  return { process: child, finished, stdout: () => stdout, stderr: () => stderr };
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
