import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { UsageError, choiceFlag, hostPortFlag, logLevelFlag, parseCommandLine } from '../src/index.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/command.mjs', import.meta.url));
const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [FIXTURE, ...args], (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : null, stdout, stderr });
    });
  });
}

const SPEC = { options: { count: { type: 'string' }, json: { type: 'boolean' }, tag: { type: 'string', multiple: true } }, positionals: true } as const;

describe('parseCommandLine', () => {
  it('reads flags, positionals and the standard -h/-v', () => {
    const { values, positionals } = parseCommandLine(['--', '--count', '3', '--json', '--tag', 'a', '--tag=b', 'word'], SPEC);
    expect(values).toMatchObject({ count: '3', json: true, tag: ['a', 'b'] });
    expect(positionals).toEqual(['word']);
    expect(parseCommandLine(['-h'], SPEC).values.help).toBe(true);
    expect(parseCommandLine(['-v'], SPEC).values.version).toBe(true);
  });

  it('gives a flag a value that starts with a dash, for the flag to judge', () => {
    expect(parseCommandLine(['--count', '-1'], SPEC).values.count).toBe('-1');
  });

  it('refuses bad command lines in one line of its own words', () => {
    const cases: [string[], string][] = [
      [['--nope'], 'unknown option --nope'],
      [['-x'], 'unknown option -x'],
      [['--count'], '--count needs a value'],
      [['--json=yes'], '--json takes no value'],
    ];
    for (const [argv, message] of cases) {
      expect(() => parseCommandLine(argv, SPEC)).toThrow(UsageError);
      expect(() => parseCommandLine(argv, SPEC)).toThrow(message);
    }
    expect(() => parseCommandLine(['word'], { options: {} })).toThrow('unexpected argument "word"');
  });
});

describe('flag validators', () => {
  it('choiceFlag takes one of its values, nothing when absent, and refuses others naming the flag', () => {
    expect(choiceFlag('drain', 'get', ['reserve', 'get'] as const)).toBe('get');
    expect(choiceFlag('drain', undefined, ['reserve', 'get'] as const)).toBeUndefined();
    expect(() => choiceFlag('drain', 'peek', ['reserve', 'get'] as const)).toThrow(new UsageError('--drain must be one of reserve, get, got "peek"'));
  });

  it('logLevelFlag falls back when absent and refuses what is not a level', () => {
    expect(logLevelFlag('log-level', undefined, 'warn')).toBe('warn');
    expect(logLevelFlag('log-level', 'debug', 'warn')).toBe('debug');
    expect(() => logLevelFlag('log-level', 'loud', 'info')).toThrow(new UsageError('--log-level must be debug, info, warn or error, got "loud"'));
  });

  it('hostPortFlag reads host:port and refuses anything else as a usage error naming the flag', () => {
    expect(hostPortFlag('web', '127.0.0.1:0')).toEqual({ host: '127.0.0.1', port: 0 });
    expect(hostPortFlag('web', undefined)).toBeUndefined();
    expect(() => hostPortFlag('web', 'nowhere')).toThrow(UsageError);
    expect(() => hostPortFlag('web', 'nowhere')).toThrow(/--web/);
  });
});

describe('runCommand (a real process)', () => {
  it('prints help and version with exit 0', async () => {
    for (const flag of ['-h', '--help']) {
      const result = await run(flag);
      expect(result).toEqual({ code: 0, stdout: 'Usage: demo-cmd [--count N] [--json] WORD\n', stderr: '' });
    }
    for (const flag of ['-v', '--version']) {
      expect(await run(flag)).toEqual({ code: 0, stdout: `${VERSION}\n`, stderr: '' });
    }
  });

  it('runs main with the parsed flags', async () => {
    expect(await run('--count', '2', '--json', 'go')).toEqual({ code: 0, stdout: '{"count":2,"json":true,"positionals":["go"]}\n', stderr: '' });
  });

  it('answers an unknown flag and a bad value with one line, a hint and exit 2', async () => {
    expect(await run('--nope')).toEqual({ code: 2, stdout: '', stderr: "demo-cmd: unknown option --nope\nTry 'demo-cmd --help'.\n" });
    expect(await run('--count', '-1')).toEqual({ code: 2, stdout: '', stderr: `demo-cmd: --count must be an integer >= 1, got "-1"\nTry 'demo-cmd --help'.\n` });
  });

  it('exits 1 with one line when main fails', async () => {
    expect(await run('fail')).toEqual({ code: 1, stdout: '', stderr: 'demo-cmd: it failed\n' });
  });
});
