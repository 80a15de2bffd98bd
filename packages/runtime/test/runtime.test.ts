import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, formatHostPort, isLogLevel, normalizeArgv, parseHostPort } from '../src/index.js';

function sink(): { stream: Writable; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  return { stream, lines };
}

describe('parseHostPort', () => {
  it('reads host:port, [v6]:port and :port', () => {
    expect(parseHostPort('127.0.0.1:10000')).toEqual({ host: '127.0.0.1', port: 10000 });
    expect(parseHostPort('[::1]:0')).toEqual({ host: '::1', port: 0 });
    expect(parseHostPort(':9')).toEqual({ host: '127.0.0.1', port: 9 });
    expect(parseHostPort('localhost:65535')).toEqual({ host: 'localhost', port: 65535 });
  });

  it('refuses what is not an address, naming what was wrong', () => {
    for (const bad of ['127.0.0.1', '1.2.3.4:', 'host:port', '1.2.3.4:65536', '', 'a b:1']) {
      expect(() => parseHostPort(bad, 'input address')).toThrow(/input address/);
    }
  });

  it('formats back, bracketing IPv6', () => {
    expect(formatHostPort({ host: '127.0.0.1', port: 5 })).toBe('127.0.0.1:5');
    expect(formatHostPort({ host: '::1', port: 5 })).toBe('[::1]:5');
    expect(formatHostPort(parseHostPort('[::1]:77'))).toBe('[::1]:77');
  });
});

describe('normalizeArgv', () => {
  it("drops the one leading '--' pnpm forwards, and only that", () => {
    expect(normalizeArgv(['--', '--duration', '5'])).toEqual(['--duration', '5']);
    expect(normalizeArgv(['--duration', '5'])).toEqual(['--duration', '5']);
    expect(normalizeArgv(['a', '--', 'b'])).toEqual(['a', '--', 'b']);
  });
});

describe('createLogger', () => {
  it('writes one JSON object per event and filters by level', () => {
    const { stream, lines } = sink();
    const logger = createLogger({ name: 'MQ.127.0.0.1-1', level: 'info', format: 'json', stream });
    logger.debug('edge latency', { seconds: 0.001 });
    logger.info('listening', { address: '127.0.0.1:1' });
    logger.error('bad frame', { code: 'ERR_BAD_HEADER' });
    expect(lines).toHaveLength(2);
    const first = JSON.parse(lines[0] as string) as Record<string, unknown>;
    expect(first).toMatchObject({ level: 'info', logger: 'MQ.127.0.0.1-1', event: 'listening', address: '127.0.0.1:1' });
    expect(logger.enabled('debug')).toBe(false);
    expect(logger.enabled('warn')).toBe(true);
  });

  it("pretty lines follow the prototype's '<date> <time> ...' shape", () => {
    const { stream, lines } = sink();
    createLogger({ name: 'n', format: 'pretty', stream }).warn('queue full', { size: 3, note: 'two words' });
    expect(lines[0]).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{6} WARN {2}n queue full size=3 note="two words"$/);
  });

  it('mirrors JSON lines to <dir>/<name>.<uuid>.log', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'streampy-runtime-'));
    try {
      const { stream } = sink();
      const logger = createLogger({ name: 'MQ.127.0.0.1-9', format: 'pretty', stream, dir });
      logger.info('started');
      await logger.close();
      const files = readdirSync(dir);
      expect(files).toHaveLength(1);
      expect(files[0]).toMatch(/^MQ\.127\.0\.0\.1-9\.[0-9a-f-]{36}\.log$/);
      expect(logger.file).toBe(join(dir, files[0] as string));
      expect(JSON.parse(readFileSync(join(dir, files[0] as string), 'utf8'))).toMatchObject({ event: 'started' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('knows its levels', () => {
    expect(isLogLevel('debug')).toBe(true);
    expect(isLogLevel('trace')).toBe(false);
  });
});
