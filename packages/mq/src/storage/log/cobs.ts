/**
 * Consistent overhead byte stuffing (COBS): rewrites bytes so that 0x00 never appears in them,
 * at a cost of one byte per 254 plus one. Format 2 of the log ends every record with a 0x00, so
 * the only zero bytes in a healthy segment are record boundaries: after damage, recovery finds the
 * next record at the next zero, and no message body, whatever a client put in it, can ever pose
 * as a record boundary (a plain sync marker could be forged by a body that contains it).
 *
 * The encoding is a sequence of blocks `code, code - 1 bytes`. A block with code < 0xff stands
 * for its bytes followed by a zero, except the last block; a 0xff block has no zero after it and
 * is never last.
 */

const MAX_RUN = 254;

/** The most bytes `cobsEncode` writes for `length` input bytes. */
export function cobsMaxLength(length: number): number {
  return length + Math.floor(length / MAX_RUN) + 1;
}

/** Runs shorter than this are copied byte by byte: a native call per run costs more for them. */
const SHORT_RUN = 96;

/** Encodes `src` into `out` from `at` (which must have `cobsMaxLength` bytes of room); returns where it ended. */
export function cobsEncode(src: Uint8Array, out: Uint8Array, at: number): number {
  const end = src.length;
  let codeAt = at++;
  let code = 1;
  let i = 0;
  while (i < end) {
    const byte = src[i]!;
    if (byte === 0) {
      out[codeAt] = code;
      codeAt = at++;
      code = 1;
      i++;
      continue;
    }
    if (code === 1 && end - i > SHORT_RUN) {
      // A long run (message bodies): find its end natively and copy it in 254-byte blocks.
      let zero = src.indexOf(0, i);
      if (zero === -1) zero = end;
      while (zero - i >= MAX_RUN) {
        out[codeAt] = 0xff;
        out.set(src.subarray(i, i + MAX_RUN), at);
        at += MAX_RUN;
        i += MAX_RUN;
        codeAt = at++;
      }
      out.set(src.subarray(i, zero), at);
      at += zero - i;
      code += zero - i;
      i = zero;
      continue;
    }
    out[at++] = byte;
    i++;
    if (++code === 0xff) {
      out[codeAt] = code;
      codeAt = at++;
      code = 1;
    }
  }
  out[codeAt] = code;
  return at;
}

/**
 * Decodes the encoded bytes `src[start, end)` (a record without its closing zero) into `out`
 * (at least `end - start` bytes; a new array when not given), returning the view of it that holds
 * the decoded bytes, or undefined when they are not a valid encoding (damage). Recovery passes one
 * reused scratch buffer: a fresh buffer per record, freed once read, stays in malloc's arenas.
 */
export function cobsDecode(src: Uint8Array, start: number, end: number, out: Uint8Array = new Uint8Array(Math.max(0, end - start))): Uint8Array | undefined {
  if (start >= end) return undefined;
  let length = 0;
  let at = start;
  while (at < end) {
    const code = src[at]!;
    if (code === 0) return undefined;
    const next = at + code;
    if (next > end) return undefined;
    out.set(src.subarray(at + 1, next), length);
    length += code - 1;
    at = next;
    if (code !== 0xff) {
      if (at < end) out[length++] = 0;
    } else if (at === end) return undefined;
  }
  return out.subarray(0, length);
}
