import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, isReservedFileName, safeFileNamePart } from '../src/index.js';

/** What Windows refuses in a file name (the strictest of the three OSes). */
function unsafeOnWindows(name: string): boolean {
  return /[<>:"/\\|?*]/.test(name) || [...name].some((char) => char.charCodeAt(0) < 0x20) || /[. ]$/.test(name) || /^(CON|PRN|AUX|NUL|COM[0-9]|LPT[0-9])(\.|$)/i.test(name) || name === '';
}

describe('safeFileNamePart', () => {
  it('leaves safe names as they were, so existing files keep their names', () => {
    for (const name of ['MQ.127.0.0.1-10000', 'pong.127.0.0.1-10000.127.0.0.1-10001', 'jobs', 'a_b-c.d', 'console', 'nul1', 'COM10', 'x.con']) {
      expect(safeFileNamePart(name)).toBe(name);
    }
  });

  it('replaces what Windows refuses: IPv6 colons, separators, wildcards, quotes, pipes, control characters', () => {
    expect(safeFileNamePart('MQ.::1-10000')).toBe('MQ.__1-10000');
    expect(safeFileNamePart('MQ.fe80::1%eth0-9')).toBe('MQ.fe80__1%eth0-9');
    expect(safeFileNamePart('a/b\\c')).toBe('a_b_c');
    expect(safeFileNamePart('<>:"|?*')).toBe('_______');
    expect(safeFileNamePart('tab\there\nnew')).toBe('tab_here_new');
  });

  it('ends in neither a dot nor a space, avoids device names, is never empty', () => {
    expect(safeFileNamePart('jobs.')).toBe('jobs_');
    expect(safeFileNamePart('jobs. .')).toBe('jobs___');
    expect(safeFileNamePart('CON')).toBe('_CON');
    expect(safeFileNamePart('nul.127.0.0.1-1')).toBe('_nul.127.0.0.1-1');
    expect(safeFileNamePart('lpt1')).toBe('_lpt1');
    expect(safeFileNamePart('')).toBe('_');
  });

  it('knows the device names Windows reserves, whatever follows their first dot', () => {
    for (const name of ['CON', 'con', 'Nul.log', 'aux.tar.gz', 'PRN', 'COM1', 'com9.x', 'LPT1', 'lpt0']) expect(isReservedFileName(name), name).toBe(true);
    for (const name of ['CONSOLE', 'con_', 'xnul', 'COM10', 'x.con', '', 'nul-1.log']) expect(isReservedFileName(name), name).toBe(false);
  });

  it('gives a name safe on Windows for any text (every ASCII character, in every position)', () => {
    const chars = Array.from({ length: 128 }, (_, code) => String.fromCharCode(code));
    for (const char of chars) {
      for (const text of [char, `a${char}`, `${char}a`, `con${char}`, `a${char}${char}`]) {
        const safe = safeFileNamePart(text);
        expect(unsafeOnWindows(safe), JSON.stringify({ text, safe })).toBe(false);
      }
    }
  });
});

describe('createLogger({ dir })', () => {
  it('names the file of an IPv6 node with no colon', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'streampy-log-names-'));
    try {
      const logger = createLogger({ name: 'MQ.::1-10000', dir, stream: new Writable({ write: (_chunk, _encoding, done) => done() }), level: 'error' });
      logger.error('written');
      await logger.close();
      const files = readdirSync(dir);
      expect(files).toHaveLength(1);
      expect(files[0]).toMatch(/^MQ\.__1-10000\.[0-9a-f-]{36}\.log$/);
      expect(logger.file).toBe(join(dir, files[0] as string));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
