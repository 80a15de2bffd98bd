import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { CodecError, type CodecErrorCode } from '../src/index.js';

/**
 * The shared/ folder lies beside the repo checkout, whatever the checkout is called:
 * walk up from this file until a sibling `shared/vectors` appears.
 */
export function sharedVectorsDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 12; depth++) {
    const candidate = join(dir, 'shared', 'vectors');
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new Error('shared/vectors not found beside any parent folder of the codec tests');
}

export function readVectors<T>(name: string): T {
  return JSON.parse(readFileSync(join(sharedVectorsDir(), name), 'utf8')) as T;
}

export function fromHex(hex: string): Uint8Array {
  if (hex.length % 2 !== 0) throw new Error(`odd hex length: ${hex}`);
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

/** Bytes of an ASCII/latin1 string, one byte per char: for writing frames by hand. */
export function ascii(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

export const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

/** Runs `fn`, asserts it throws a `CodecError` with `code`, and returns the error. */
export function expectCodecError(fn: () => unknown, code: CodecErrorCode): CodecError {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  if (!(thrown instanceof CodecError)) throw new Error(`expected a CodecError ${code}, got ${String(thrown)}`);
  expect(thrown.code).toBe(code);
  return thrown;
}
