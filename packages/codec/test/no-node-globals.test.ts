import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));
const fixtures = join(here, 'fixtures');
const dist = join(here, '..', 'dist');

interface Report {
  globals: Record<string, string>;
  ok: boolean;
  result?: unknown;
  error?: string;
}

/** Evaluates `entry` in a child process, in a context without Node's globals (see the harness). */
async function runWithoutNode(entry: string): Promise<Report> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--experimental-vm-modules', '--no-warnings', join(fixtures, 'run-without-node.mjs'), join(fixtures, entry), fixtures, dist],
    { timeout: 30_000 },
  );
  return JSON.parse(stdout) as Report;
}

describe('the built codec runs without Node', () => {
  it('has been built', () => {
    expect(existsSync(join(dist, 'index.js')), 'run the build first: pnpm --filter @streampy/codec build').toBe(true);
  });

  it('built files import only each other', () => {
    const files = readdirSync(dist).filter((f) => f.endsWith('.js'));
    expect(files).toContain('index.js');
    for (const file of files) {
      const code = readFileSync(join(dist, file), 'utf8');
      const specifiers = [...code.matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)].map((m) => m[1]);
      for (const specifier of specifiers) expect(specifier, `${file} imports ${specifier}`).toMatch(/^\.\/[a-z-]+\.js$/);
    }
  });

  it('encodes and decodes in a context that lacks process, Buffer, require and global', async () => {
    const report = await runWithoutNode('browser-entry.js');
    expect(report.globals).toEqual({
      process: 'undefined',
      Buffer: 'undefined',
      require: 'undefined',
      global: 'undefined',
      module: 'undefined',
      setTimeout: 'undefined',
      TextEncoder: 'function',
      extra: ['TextDecoder', 'TextEncoder'],
    });
    expect(report.error).toBeUndefined();
    expect(report.result).toEqual({
      helloFrame: '316248656c6c6f20576f726c64',
      bytesFrame: '3133010203',
      unicode: '日本語 😀',
      lenient: 'GET',
      batch: ['one', 'twö', ''],
      streamed: ['one', 'twö', ''],
      declared: String(2n ** 59n),
      tooLarge: 'ERR_FRAME_TOO_LARGE',
      tooLargeStreamed: 'ERR_FRAME_TOO_LARGE',
      badUtf8: 'ERR_INVALID_UTF8',
      trailing: 'ERR_TRAILING_BYTES',
      request: { id: 'r1', queue: 'jobs', verb: 'GET', max: 3 },
      seedReply: 'PUT 4 bytes',
      written: ['1e#r1 MSG:héllo21dLEASED 1:2113k9.2.Nonce_1 2:x'],
      requestFrame: '211#c1 RESERVE max=2',
      reply: { id: 'c1', kind: 'put', bytes: 3, duplicate: true },
      token: { messageId: '3k9', delivery: 2, nonce: 'Nonce_1' },
      branded: true,
    });
  });

  // Controls: the same harness must catch a module that leans on Node.
  it('fails a module that reads a Node global', async () => {
    const report = await runWithoutNode('reads-node-global.js');
    expect(report.ok).toBe(false);
    expect(report.error).toBe('ReferenceError: Buffer is not defined');
  });

  it('fails a module that imports a Node built-in', async () => {
    const report = await runWithoutNode('imports-node-builtin.js');
    expect(report.ok).toBe(false);
    expect(report.error).toContain('"node:buffer"');
  });
});
