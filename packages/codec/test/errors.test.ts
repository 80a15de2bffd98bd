import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { CodecError, ERROR_CODES, StreampyError, UnknownVerbError, WIRE_ERROR_CODES, errorCodeOf, isCodecError, isStreampyError, type WireErrorCode } from '../src/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..', '..');

describe('StreampyError', () => {
  it('carries a code, a name, a message and a cause', () => {
    const cause = new Error('below');
    const error = new StreampyError('ERR_TIMEOUT', 'no reply', { cause });
    expect(error).toBeInstanceOf(Error);
    expect(error.code).toBe('ERR_TIMEOUT');
    expect(error.name).toBe('StreampyError');
    expect(error.message).toBe('no reply');
    expect(error.cause).toBe(cause);
    expect(Object.hasOwn(new StreampyError('ERR_TIMEOUT', 'x'), 'cause')).toBe(false);
  });

  it('is the base of CodecError, whose instanceof stays ordinary', () => {
    const error = new CodecError('ERR_TRUNCATED', 'short', { offset: 3 });
    expect(error).toBeInstanceOf(StreampyError);
    expect(error).toBeInstanceOf(CodecError);
    expect(error.name).toBe('CodecError');
    expect(error.offset).toBe(3);
    expect(new StreampyError('ERR_TRUNCATED', 'x')).not.toBeInstanceOf(CodecError);
    const unknown = new UnknownVerbError('FLY');
    expect(unknown).toBeInstanceOf(CodecError);
    expect(unknown).toBeInstanceOf(StreampyError);
    expect(new CodecError('ERR_EMPTY', 'x')).not.toBeInstanceOf(UnknownVerbError);
  });

  it('isStreampyError checks the brand and, when given, the code', () => {
    const error = new CodecError('ERR_BAD_REPLY', 'x');
    expect(isStreampyError(error)).toBe(true);
    expect(isStreampyError(error, 'ERR_BAD_REPLY')).toBe(true);
    expect(isStreampyError(error, 'ERR_TIMEOUT')).toBe(false);
    for (const other of [new Error('x'), Object.assign(new Error('x'), { code: 'ERR_BAD_REPLY' }), null, undefined, 'ERR_BAD_REPLY', { code: 'ERR_BAD_REPLY' }]) {
      expect(isStreampyError(other)).toBe(false);
      expect(other instanceof StreampyError).toBe(false);
    }
  });

  it('keeps the brand off the instance, so equality and JSON see only code and message', () => {
    const error = new StreampyError('ERR_FULL', 'full');
    expect(Object.getOwnPropertySymbols(error)).toEqual([]);
    expect(JSON.parse(JSON.stringify(error))).toEqual({ name: 'StreampyError', code: 'ERR_FULL' });
  });

  it('isCodecError: codec codes only, also from a copy without the brand (older releases)', () => {
    expect(isCodecError(new CodecError('ERR_EMPTY', 'x'))).toBe(true);
    expect(isCodecError(new StreampyError('ERR_BAD_REQUEST', 'x'))).toBe(true);
    expect(isCodecError(new StreampyError('ERR_TIMEOUT', 'x'))).toBe(false);
    const older = Object.assign(new Error('x'), { name: 'CodecError', code: 'ERR_EMPTY' });
    expect(isCodecError(older)).toBe(true);
    expect(isCodecError(Object.assign(new Error('x'), { code: 'ERR_EMPTY' }))).toBe(false);
    expect(isCodecError(null)).toBe(false);
  });

  it('works across two separately loaded copies of the package', async () => {
    // Two URLs for one built file are two module instances, as two installed copies would be.
    const errorsUrl = pathToFileURL(join(here, '..', 'dist', 'errors.js')).href;
    const script = `
      const a = await import(${JSON.stringify(`${errorsUrl}?copy=a`)});
      const b = await import(${JSON.stringify(`${errorsUrl}?copy=b`)});
      const fromA = new a.CodecError('ERR_TRUNCATED', 'x');
      console.log(JSON.stringify({
        distinct: a.StreampyError !== b.StreampyError,
        baseAcross: fromA instanceof b.StreampyError,
        subclassAcross: fromA instanceof b.CodecError,
        subclassSame: fromA instanceof a.CodecError,
        guard: b.isStreampyError(fromA, 'ERR_TRUNCATED'),
        guardOtherCode: b.isStreampyError(fromA, 'ERR_EMPTY'),
        codecGuard: b.isCodecError(fromA),
        plain: new Error('x') instanceof b.StreampyError,
      }));`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { timeout: 30_000 });
    expect(JSON.parse(stdout)).toEqual({
      distinct: true,
      baseAcross: true,
      subclassAcross: false,
      subclassSame: true,
      guard: true,
      guardOtherCode: false,
      codecGuard: true,
      plain: false,
    });
  });
});

describe('ERROR_CODES', () => {
  it('gives every code a sentence', () => {
    for (const [code, meaning] of Object.entries(ERROR_CODES)) {
      expect(code).toMatch(/^ERR_[A-Z0-9_]+$/);
      expect(meaning.length, code).toBeGreaterThan(20);
    }
  });

  it('holds ERR_<code> of every wire error code', () => {
    for (const wire of Object.keys(WIRE_ERROR_CODES) as WireErrorCode[]) expect(Object.hasOwn(ERROR_CODES, errorCodeOf(wire)), wire).toBe(true);
  });

  function sourceFiles(dir: string): string[] {
    return readdirSync(dir).flatMap((entry) => {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) return sourceFiles(path);
      return /\.(ts|js|mjs)$/.test(entry) ? [path] : [];
    });
  }

  it('holds every code any package or app raises', () => {
    const roots = ['packages', 'apps'].flatMap((top) => readdirSync(join(repo, top)).map((name) => join(repo, top, name, 'src')));
    const used = new Set<string>();
    for (const root of roots) {
      let files: string[];
      try {
        files = sourceFiles(root);
      } catch {
        continue; // a package without src
      }
      for (const file of files) for (const match of readFileSync(file, 'utf8').matchAll(/'(ERR_[A-Z_0-9]+)'/g)) used.add(match[1] as string);
    }
    // Node's own util.parseArgs codes, checked by prefix in the CLI runtime: not ours.
    used.delete('ERR_PARSE_ARGS');
    expect(used.size).toBeGreaterThan(20);
    expect([...used].filter((code) => !Object.hasOwn(ERROR_CODES, code)).sort()).toEqual([]);
  });
});
