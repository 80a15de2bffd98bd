import { spawn } from 'node:child_process';
import { basename } from 'node:path';

/** What `runJsonScript` saw: the exit code, the last stdout line read as JSON, and stderr. */
export interface JsonScriptResult<T> {
  readonly code: number | null;
  readonly result: T;
  readonly stderr: string;
}

/**
 * Runs `node script --json? args` as a real process and reads its last stdout line as JSON (the
 * scripts' summary). At `deadlineMs` the script gets SIGTERM, so it can stop what it started
 * (a node, its children) before it exits; a script that prints no JSON line is an error naming it.
 */
export async function runJsonScript<T>(script: string, args: readonly string[], deadlineMs: number): Promise<JsonScriptResult<T>> {
  const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGTERM'), deadlineMs);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  clearTimeout(timer);
  const line = stdout.trim().split('\n').at(-1) ?? '';
  if (!line.startsWith('{')) throw new Error(`${basename(script)} printed no JSON summary (exit ${code}): ${stderr.trim()}`);
  return { code, result: JSON.parse(line) as T, stderr };
}
