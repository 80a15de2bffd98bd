#!/usr/bin/env node
/* global TextEncoder, performance */
// Times @streampy/codec (built, dist/) against a plain 4-byte big-endian length-prefix codec
// written below, and its protocol parsers and writers against JSON (bench/protocol-cases.mjs),
// in the same process, same loops. Not a test: it prints, it never fails on time.
// Each case runs in its own child process, so one case's JIT and GC state cannot tilt the
// next. Per case: warm up, calibrate to ~10 ms a round, then alternate codec and baseline
// rounds (same iteration count). ops/s come from each side's median round; the ratio is the
// median of codec time / baseline time over adjacent pairs of rounds (lower is better;
// goal <= 1.5).
// `--json` prints the results as JSON.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { FrameDecoder, decodeFrame, encodeFrame, encodeFrames } from '../dist/index.js';
import { protocolCases } from './protocol-cases.mjs';

const ROUNDS = 41;
const ROUND_MS = 10;
const GOAL = 1.5;
const LIMIT = 65_507;

const textEncoder = new TextEncoder();

function baselineEncode(payload) {
  const bytes = typeof payload === 'string' ? textEncoder.encode(payload) : payload;
  const n = bytes.length;
  const out = new Uint8Array(4 + n);
  out[0] = n >>> 24;
  out[1] = (n >>> 16) & 0xff;
  out[2] = (n >>> 8) & 0xff;
  out[3] = n & 0xff;
  out.set(bytes, 4);
  return out;
}

function readLength(bytes, at) {
  return ((bytes[at] << 24) | (bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3]) >>> 0;
}

function baselineDecode(datagram) {
  if (datagram.length < 4) throw new Error('truncated header');
  const n = readLength(datagram, 0);
  if (n > LIMIT) throw new Error('too large');
  if (4 + n !== datagram.length) throw new Error('length disagrees with the datagram');
  return datagram.subarray(4);
}

/** The same job as FrameDecoder: chunks cut anywhere, limit checked before buffering. */
class BaselineStreamDecoder {
  #header = new Uint8Array(4);
  #headerFilled = 0;
  #payload = undefined;
  #filled = 0;

  push(chunk) {
    const frames = [];
    let i = 0;
    while (i < chunk.length) {
      if (this.#payload === undefined) {
        if (this.#headerFilled === 0 && chunk.length - i >= 4) {
          const n = readLength(chunk, i);
          if (n > LIMIT) throw new Error('too large');
          i += 4;
          if (chunk.length - i >= n) {
            frames.push(chunk.subarray(i, i + n));
            i += n;
            continue;
          }
          this.#payload = new Uint8Array(n);
          this.#filled = 0;
          continue;
        }
        this.#header[this.#headerFilled++] = chunk[i++];
        if (this.#headerFilled === 4) {
          this.#headerFilled = 0;
          const n = readLength(this.#header, 0);
          if (n > LIMIT) throw new Error('too large');
          this.#payload = new Uint8Array(n);
          this.#filled = 0;
        }
        continue;
      }
      const take = Math.min(this.#payload.length - this.#filled, chunk.length - i);
      this.#payload.set(chunk.subarray(i, i + take), this.#filled);
      this.#filled += take;
      i += take;
      if (this.#filled === this.#payload.length) {
        frames.push(this.#payload);
        this.#payload = undefined;
      }
    }
    return frames;
  }
}

function cut(buffer, size) {
  const chunks = [];
  for (let i = 0; i < buffer.length; i += size) chunks.push(buffer.subarray(i, i + size));
  return chunks;
}

const small = 'ping-pong-0123ab'; // 16 B, ASCII
const smallBytes = textEncoder.encode(small);
const largeText = 'streampy '.repeat(7000).slice(0, 60 * 1024); // 60 KiB, ASCII
const largeBytes = textEncoder.encode(largeText);
const STREAM_FRAMES = 1000;
const streamPayloads = Array.from({ length: STREAM_FRAMES }, (_, i) => textEncoder.encode(`msg-${String(i).padStart(12, '0')}`));
// Chunks of 1400 B: about an Ethernet MTU, so most chunks end inside a frame.
const ourStream = cut(encodeFrames(streamPayloads), 1400);
const baseStream = cut(Uint8Array.from(streamPayloads.flatMap((p) => [...baselineEncode(p)])), 1400);

let sink = 0;

const cases = [
  { name: 'encode 16 B bytes', ours: () => encodeFrame(smallBytes).length, base: () => baselineEncode(smallBytes).length },
  { name: 'encode 16 B string', ours: () => encodeFrame(small).length, base: () => baselineEncode(small).length },
  { name: 'encode 60 KiB bytes', ours: () => encodeFrame(largeBytes).length, base: () => baselineEncode(largeBytes).length },
  { name: 'encode 60 KiB string', ours: () => encodeFrame(largeText).length, base: () => baselineEncode(largeText).length },
  {
    name: 'decode 16 B',
    setup: () => [encodeFrame(smallBytes), baselineEncode(smallBytes)],
    ours: (frame) => decodeFrame(frame).length,
    base: (frame) => baselineDecode(frame).length,
  },
  {
    name: 'decode 60 KiB',
    setup: () => [encodeFrame(largeBytes), baselineEncode(largeBytes)],
    ours: (frame) => decodeFrame(frame).length,
    base: (frame) => baselineDecode(frame).length,
  },
  {
    name: `stream ${STREAM_FRAMES} x 16 B frames`,
    unit: STREAM_FRAMES,
    ours: () => {
      const decoder = new FrameDecoder();
      let n = 0;
      for (const chunk of ourStream) n += decoder.push(chunk).length;
      decoder.end();
      return n;
    },
    base: () => {
      const decoder = new BaselineStreamDecoder();
      let n = 0;
      for (const chunk of baseStream) n += decoder.push(chunk).length;
      return n;
    },
  },
  ...protocolCases,
];

function timeLoop(fn, arg, iterations) {
  const start = performance.now();
  for (let i = 0; i < iterations; i++) sink += fn(arg);
  return performance.now() - start;
}

function calibrate(fn, arg) {
  let iterations = 1;
  for (;;) {
    const ms = timeLoop(fn, arg, iterations);
    if (ms >= ROUND_MS / 4 || iterations >= 1 << 26) return Math.max(1, Math.round((iterations * ROUND_MS) / Math.max(ms, 0.01)));
    iterations *= 4;
  }
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

function measure(testCase) {
  const [oursArg, baseArg] = testCase.setup ? testCase.setup() : [undefined, undefined];
  // Warm up (the JIT optimises while calibrating), then size the rounds on optimised code:
  // the same iteration count for both sides, set by the slower one.
  const warmUp = Math.min(calibrate(testCase.ours, oursArg), calibrate(testCase.base, baseArg));
  timeLoop(testCase.ours, oursArg, warmUp);
  timeLoop(testCase.base, baseArg, warmUp);
  const iterations = Math.min(calibrate(testCase.ours, oursArg), calibrate(testCase.base, baseArg));
  const ours = [];
  const base = [];
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate which side goes first so drift on a shared machine hits both alike.
    if (round % 2 === 0) {
      ours.push(timeLoop(testCase.ours, oursArg, iterations));
      base.push(timeLoop(testCase.base, baseArg, iterations));
    } else {
      base.push(timeLoop(testCase.base, baseArg, iterations));
      ours.push(timeLoop(testCase.ours, oursArg, iterations));
    }
  }
  const unit = testCase.unit ?? 1;
  return {
    name: testCase.name,
    oursOpsPerSec: (iterations * unit * 1000) / median(ours),
    baseOpsPerSec: (iterations * unit * 1000) / median(base),
    // Each codec round against the baseline round next to it in time, so that load from other
    // processes, which drifts, weighs on both sides of every ratio alike.
    ratio: median(ours.map((ms, round) => ms / base[round])),
  };
}

const format = (n) => Math.round(n).toLocaleString('en-US');

function runAllCases() {
  const self = fileURLToPath(import.meta.url);
  return cases.map((_, index) => JSON.parse(execFileSync(process.execPath, [self, '--case', String(index)], { encoding: 'utf8' })));
}

const caseFlag = process.argv.indexOf('--case');
if (caseFlag >= 0) {
  const testCase = cases[Number(process.argv[caseFlag + 1])];
  if (testCase === undefined) throw new Error(`no case ${process.argv[caseFlag + 1]}`);
  process.stdout.write(JSON.stringify(measure(testCase)));
} else {
  const results = runAllCases();
  if (process.argv.includes('--json')) {
    console.log(JSON.stringify({ goal: GOAL, results }, null, 2));
  } else {
    const header = ['case', 'codec ops/s', 'baseline ops/s', 'time ratio', ''];
    const rows = results.map((r) => [r.name, format(r.oursOpsPerSec), format(r.baseOpsPerSec), `${r.ratio.toFixed(2)}x`, r.ratio <= GOAL ? 'ok' : `over ${GOAL}x`]);
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
    const line = (row) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ').trimEnd();
    console.log(`@streampy/codec vs a 4-byte length prefix (frames) and JSON (protocol rows) (node ${process.version}, median of ${ROUNDS} rounds, one process per case; stream ops = frames)`);
    console.log(line(header));
    for (const row of rows) console.log(line(row));
  }
}
// Keeps the measured results observable, so no loop can be optimised away.
if (sink === 42) console.error('');
