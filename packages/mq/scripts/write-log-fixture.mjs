#!/usr/bin/env node
// Writes the data dir kept as test/fixtures/log-v0.1/: a few queues' worth of log records
// (puts, removes, keyed puts, more than one segment, a reclaim with a carried-forward
// `cleared` record), as the engine of a given build writes them, plus expected.json: what
// that same engine recovers from it. The fixture was made once with the 0.1 release's build
// (format 1); a later engine must recover it to exactly expected.json
// (test/log-fixture.test.ts). Usage:
//   node packages/mq/scripts/write-log-fixture.mjs OUT_DIR [path/to/dist/storage/log.js]
import { cp, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [outArg, engineArg] = process.argv.slice(2);
if (outArg === undefined) {
  process.stderr.write('usage: write-log-fixture.mjs OUT_DIR [path/to/dist/storage/log.js]\n');
  process.exit(2);
}
const out = resolve(outArg);
const enginePath = engineArg === undefined ? new URL('../dist/storage/log.js', import.meta.url) : pathToFileURL(resolve(engineArg));
const { createLogEngine } = await import(enginePath.href);

/** Fixed enqueue times; seqs continue from what the first open() hands out, as a node's do. */
const BASE_TIME = 1_764_000_000_000;
let nextSeq;

function body(i, size) {
  const bytes = new Uint8Array(size);
  for (let j = 0; j < size; j++) bytes[j] = (i * 37 + j * 11) & 0xff;
  return bytes;
}

function message(i, size, key) {
  const seq = nextSeq++;
  const base = { seq, enqueuedAt: BASE_TIME + i * 3, body: body(i, size) };
  return key === undefined ? base : { ...base, key };
}

/** One queue: appends and removes given by a plan, flushed now and then. */
async function writeQueue(name, segmentBytes, steps) {
  const engine = createLogEngine({ dir: join(out, name), fsync: 'never', segmentBytes });
  const state = await engine.open();
  nextSeq ??= state.nextSeq;
  const live = [];
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i];
    if (step.put !== undefined) {
      const m = message(i, step.put, step.key);
      engine.append(m);
      live.push(m.seq);
    }
    if (step.remove !== undefined) {
      const [seq] = live.splice(step.remove, 1);
      if (seq !== undefined) engine.remove(seq);
    }
    if (i % 3 === 2) await engine.flush();
  }
  await engine.close();
  maxSeqWritten[name] = nextSeq - 1;
}

const maxSeqWritten = {};

await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });

// default: one segment, plain and keyed puts, GET-like removes from the front.
await writeQueue('default', 1 << 20, [
  { put: 5 },
  { put: 0 },
  { put: 12, key: 'order-1' },
  { put: 7, key: 'clé-é' },
  { remove: 0 },
  { put: 30 },
  { remove: 1 },
  { put: 3, key: 'order-2' },
  { put: 1 },
]);

// jobs: 512-byte segments, a message that never leaves (pins segment 1), removes in random-ish
// order, so later segments are reclaimed and carry `cleared` records forward.
const jobs = [{ put: 40, key: 'stuck' }];
for (let i = 1; i < 60; i++) {
  jobs.push(i % 3 === 0 ? { put: 40 + (i % 7), key: `job-${i}`, remove: 1 + ((i * 5) % 3) } : { put: 20 + (i % 11) });
}
jobs.push({ remove: 2 }, { remove: 4 });
await writeQueue('jobs', 512, jobs);

// dead: a queue emptied completely.
await writeQueue('dead', 1 << 20, [{ put: 9, key: 'dl-1' }, { put: 4 }, { remove: 0 }, { remove: 0 }]);

// expected.json: what this engine recovers (from a copy: opening may write).
const expected = {};
const scratch = await mkdtemp(join(tmpdir(), 'streampy-fixture-'));
await cp(out, scratch, { recursive: true });
for (const name of (await readdir(out)).sort()) {
  const engine = createLogEngine({ dir: join(scratch, name), fsync: 'never', segmentBytes: 512 });
  const state = await engine.open();
  await engine.close();
  expected[name] = {
    segments: (await readdir(join(out, name))).filter((file) => file.endsWith('.seg')).sort(),
    messages: state.messages.map((m) => ({ seq: m.seq, enqueuedAt: m.enqueuedAt, ...(m.key === undefined ? {} : { key: m.key }), body: Buffer.from(m.body).toString('base64') })),
    keys: Object.fromEntries([...state.keys].sort((a, b) => a[0].localeCompare(b[0]))),
    maxSeqWritten: maxSeqWritten[name],
  };
}
await rm(scratch, { recursive: true, force: true });
await writeFile(join(out, 'expected.json'), `${JSON.stringify(expected, null, 2)}\n`);
process.stdout.write(`wrote ${out}\n`);
