/*
 * A checker message: `<run>|<n>|<filler>|<checksum>`, ASCII. The checksum (FNV-1a, 32 bits, hex)
 * covers everything before the last `|`, so a flipped byte anywhere is caught, including in
 * the number; the run id keeps leftovers of an earlier run on the same queues apart.
 */

const FILLER = 'abcdefghijklmnopqrstuvwxyz0123456789';
const SEPARATOR = 0x7c; // '|'

function fnv1a(bytes: Uint8Array, end: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < end; i++) {
    hash ^= bytes[i] as number;
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

function checksumText(hash: number): string {
  return hash.toString(16).padStart(8, '0');
}

/** The body of message `n` of run `runId`, with `fillerBytes` bytes of filler. */
export function encodeCheckMessage(runId: string, n: number, fillerBytes: number): Uint8Array {
  const start = n % FILLER.length;
  let filler = '';
  while (filler.length < fillerBytes + start) filler += FILLER;
  const head = Buffer.from(`${runId}|${n}|${filler.slice(start, start + fillerBytes)}|`, 'latin1');
  const tail = Buffer.from(checksumText(fnv1a(head, head.length - 1)), 'latin1');
  return Buffer.concat([head, tail]);
}

export type CheckedMessage =
  | { readonly kind: 'valid'; readonly n: number }
  | { readonly kind: 'corrupt' }
  | { readonly kind: 'foreign'; readonly runId: string };

/** Classifies a body read from the sink: intact message of this run, of another run, or damaged. */
export function verifyCheckMessage(body: Uint8Array, runId: string): CheckedMessage {
  const last = body.lastIndexOf(SEPARATOR);
  if (last < 0 || body.length - last - 1 !== 8) return { kind: 'corrupt' };
  const expected = checksumText(fnv1a(body, last));
  const actual = Buffer.from(body.buffer, body.byteOffset + last + 1, 8).toString('latin1');
  if (actual !== expected) return { kind: 'corrupt' };
  const [run, number] = Buffer.from(body.buffer, body.byteOffset, last).toString('latin1').split('|');
  if (run === undefined || number === undefined || !/^\d{1,15}$/.test(number)) return { kind: 'corrupt' };
  if (run !== runId) return { kind: 'foreign', runId: run };
  return { kind: 'valid', n: Number(number) };
}
