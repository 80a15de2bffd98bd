import { CodecError } from './errors.js';

// TextEncoder/TextDecoder exist in every modern JS runtime; declared here, module-local,
// so the codec needs neither DOM nor Node typings and leaks no global types to users.
declare const TextEncoder: new () => {
  encode(input: string): Uint8Array;
  encodeInto(input: string, target: Uint8Array): { read: number; written: number };
};
declare const TextDecoder: new (
  label: string,
  options: { fatal: boolean; ignoreBOM: boolean },
) => { decode(input: Uint8Array): string };

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** UTF-8 bytes of a string. Lone surrogates become U+FFFD, as in every Web API. */
export function encodeText(text: string): Uint8Array {
  return encoder.encode(text);
}

/** Strict UTF-8 decode: invalid sequences throw `CodecError` `ERR_INVALID_UTF8`; a BOM is kept. */
export function decodeText(bytes: Uint8Array): string {
  // Pure ASCII is the common case on this wire and decodes faster by hand for short inputs.
  if (bytes.length <= 32) {
    let ascii = true;
    for (let i = 0; i < bytes.length; i++) {
      if ((bytes[i] as number) > 0x7f) {
        ascii = false;
        break;
      }
    }
    if (ascii) return String.fromCharCode.apply(null, bytes as unknown as number[]);
  }
  try {
    return strictDecoder.decode(bytes);
  } catch (cause) {
    throw new CodecError('ERR_INVALID_UTF8', 'payload is not valid UTF-8', { cause });
  }
}

/** Strings this short, when ASCII, are copied by hand: cheaper than a call into `encodeInto` (bench/text-write.bench.mjs). */
const SHORT_TEXT = 24;

/**
 * Writes the UTF-8 of `text` at `at` and returns the offset after it. `target` must have room
 * for `3 * text.length` bytes from `at` (the most UTF-8 can take per UTF-16 unit).
 */
export function writeText(target: Uint8Array, at: number, text: string): number {
  const n = text.length;
  if (n <= SHORT_TEXT) {
    let i = 0;
    for (; i < n; i++) {
      const unit = text.charCodeAt(i);
      if (unit > 0x7f) break;
      target[at + i] = unit;
    }
    if (i === n) return at + n;
    return at + i + encoder.encodeInto(text.slice(i), target.subarray(at + i)).written;
  }
  return at + encoder.encodeInto(text, target.subarray(at)).written;
}

/**
 * Writes the UTF-8 of `text`, known to take `byteLength` bytes, at `at`; returns the offset
 * after it. Throws `RangeError` when `byteLength` is not the text's UTF-8 length.
 */
export function writeTextOfLength(target: Uint8Array, at: number, text: string, byteLength: number): number {
  const n = text.length;
  if (byteLength === n && n <= SHORT_TEXT) {
    // One byte per unit means ASCII, if byteLength is right; the loop checks that it is.
    for (let i = 0; i < n; i++) {
      const unit = text.charCodeAt(i);
      if (unit > 0x7f) throw wrongLength(byteLength);
      target[at + i] = unit;
    }
    return at + n;
  }
  const { read, written } = encoder.encodeInto(text, target.subarray(at, at + byteLength));
  if (read !== n || written !== byteLength) throw wrongLength(byteLength);
  return at + written;
}

function wrongLength(byteLength: number): RangeError {
  return new RangeError(`text does not take the ${byteLength} UTF-8 bytes given as its length`);
}

/** The number of bytes the UTF-8 of `text` takes (a lone surrogate, as U+FFFD, takes 3). */
export function utf8Length(text: string): number {
  const n = text.length;
  let bytes = n;
  for (let i = 0; i < n; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) continue;
    if (unit < 0x800) bytes += 1;
    else if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < n && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 2; // a pair: 2 units, 4 bytes
      i++;
    } else bytes += 2;
  }
  return bytes;
}
