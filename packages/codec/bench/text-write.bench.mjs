#!/usr/bin/env node
/* global TextEncoder, performance */
// Writing a string's UTF-8 into a reusable buffer at an offset, three ways: a charCode loop
// (ASCII only), TextEncoder.encodeInto into a subarray, and Node's Buffer.write. It chose how
// ReplyWriter writes text (see src/text.ts). Not a test: it prints, it never fails on time.
const ROUNDS = 21;
const encoder = new TextEncoder();
const target = new Uint8Array(131_072);
const buffer = Buffer.from(target.buffer);

const cases = [
  ['ASCII 16 B', 'ping-pong-0123ab'],
  ['ASCII 32 B', 'x'.repeat(32)],
  ['ASCII 48 B', 'x'.repeat(48)],
  ['ASCII 200 B', 'streampy '.repeat(23).slice(0, 200)],
  ['ASCII 1 KiB', 'streampy '.repeat(120).slice(0, 1024)],
  ['ASCII 60 KiB', 'streampy '.repeat(7000).slice(0, 60 * 1024)],
  ['UTF-8 200 B', 'héllo wörld '.repeat(17)],
  ['UTF-8 60 KiB', 'héllo wörld '.repeat(5000)],
];

const ways = {
  loop(text, at) {
    for (let i = 0; i < text.length; i++) target[at + i] = text.charCodeAt(i);
    return at + text.length;
  },
  encodeInto(text, at) {
    return at + encoder.encodeInto(text, target.subarray(at)).written;
  },
  bufferWrite(text, at) {
    return at + buffer.write(text, at, 'utf8');
  },
};

let sink = 0;
function time(fn, text, iterations) {
  const start = performance.now();
  for (let i = 0; i < iterations; i++) sink += fn(text, i & 7);
  return performance.now() - start;
}
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

console.log(`UTF-8 string written in place (node ${process.version}, ns per write, median of ${ROUNDS} rounds)`);
console.log(['case', ...Object.keys(ways)].map((h, i) => (i === 0 ? h.padEnd(14) : h.padStart(12))).join(''));
for (const [name, text] of cases) {
  const iterations = Math.max(200, Math.floor(2_000_000 / text.length));
  const row = [name.padEnd(14)];
  for (const [way, fn] of Object.entries(ways)) {
    if (way === 'loop' && [...text].some((c) => c.charCodeAt(0) > 0x7f)) {
      row.push('-'.padStart(12));
      continue;
    }
    time(fn, text, iterations);
    const rounds = Array.from({ length: ROUNDS }, () => time(fn, text, iterations));
    row.push(((median(rounds) * 1e6) / iterations).toFixed(1).padStart(12));
  }
  console.log(row.join(''));
}
if (sink === 42) console.error('');
