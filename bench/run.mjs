#!/usr/bin/env node
// `pnpm bench`: every case on loopback with real processes, each figure printed beside a
// baseline measured in the same run (a plain Node.js UDP echo server), as a ratio.
// Writes bench/results/latest.{json,md,svg}. See bench/README.md.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { UdpPeer, budget as budgetFor, closedLoop, latencySummary } from './lib/load.mjs';
import { benchBeanstalkd } from './lib/peers/beanstalkd.mjs';
import { benchJetStream } from './lib/peers/nats.mjs';
import { cleanupAll, killAllSync, startProcess } from './lib/procs.mjs';
import { formatRatio, goalText, markdownTable, svgChart, terminalTable } from './lib/report.mjs';
import { benchDurability, benchLatency, benchMemory, benchQueueNode, benchWorker, loadStreampy, missingBuilds } from './lib/streampy.mjs';
import { benchJetStreamNode } from './lib/streampy-nats.mjs';

const HELP = `Usage: pnpm bench [-- options]   (or: node bench/run.mjs [options])

Benchmarks the streampy queue node, client and worker against a plain Node.js UDP echo
server measured in the same run, and against beanstalkd and NATS JetStream.

Options:
  --quick          tiny counts, a few seconds per group: a smoke test of every case
  --only LIST      comma-separated groups: queue,worker,durable,memory,latency,beanstalkd,jetstream,jetstream-node
  --no-build       do not run 'tsc -b' first
  --out NAME       write bench/results/NAME.* (default latest, quick with --quick): a partial run
                   (--only) then leaves the last full results alone
  --help           show this help

Writes bench/results/latest.json, latest.md and latest.svg (quick.* with --quick). Exit 0 even when goals are
missed (a benchmark never fails on a time); 1 on an error, 2 on a usage error.
`;

const MESSAGE_BYTES = 64;
const BODY = Buffer.alloc(MESSAGE_BYTES, 'm');
/** The echo datagram has the size of a single seed PUT frame of one message: `244PUT:<64 bytes>`. */
const ECHO_DATAGRAM = Buffer.alloc(1 + 2 + 'PUT:'.length + MESSAGE_BYTES, 'e');
const ON_PAR = 0.9;

const root = fileURLToPath(new URL('../', import.meta.url));
const resultsDir = fileURLToPath(new URL('./results/', import.meta.url));
const log = (line) => process.stderr.write(`bench: ${line}\n`);

/** Which baseline a row is divided by and the goal it is held to, by row id. */
function specOf(id) {
  const rt = (goal) => ({ base: 'rt', goal });
  if (id === 'mq.put.raw.c1' || id === 'mq.put.client.c1') return rt({ min: 1.0 });
  if (id === 'mq.get.raw.c1' || id === 'mq.get.client.c1') return rt({ min: 0.8 });
  if (id === 'mq.consume.raw.c1' || id === 'mq.consume.client.c1') return rt({ min: 0.8 });
  if (/^mq\.batch\.(put|get)\./.test(id)) return { base: 'pipelined', goal: { min: 10 } };
  if (id === 'worker.pong.at-least-once.metrics') return { base: 'worker.pong.at-least-once', baseLabel: 'without metrics' };
  if (id.startsWith('worker.pong.')) return rt({ min: 0.8 });
  if (id === 'durable.fsync-10') return { base: 'durable.memory', goal: { min: 0.5 } };
  if (id === 'durable.fsync-always') return { base: 'durable.memory' };
  if (id === 'memory.overhead') return { base: 'memory', goal: { max: 100, unit: 'B' } };
  if (id.startsWith('latency.')) return { base: 'latency' };
  return rt(undefined);
}

/** Pairs compared for "on par with beanstalkd and JetStream" (same size, same concurrency). */
const PEER_PAIRS = [
  ['mq.put.client.c1', 'beanstalkd.put.c1', 'put, one at a time'],
  ['mq.put.client.c1', 'jetstream.publish.c1', 'put (publish + ack), one at a time'],
  ['mq.put.client.c16', 'beanstalkd.put.c16', 'put, 16 in flight'],
  ['mq.put.client.c16', 'jetstream.publish.c16', 'put (publish + ack), 16 in flight'],
  ['mq.consume.client.c1', 'beanstalkd.consume.c1', 'consume + ack, one at a time'],
  ['mq.consume.client.c1', 'jetstream.consume.b1', 'consume + ack, one at a time'],
  ['mq.consume.client.c16', 'beanstalkd.consume.c16', 'consume + ack, 16 in flight'],
  ['mq.batch.consume.client', 'jetstream.consume.b100', 'consume 100 at a time + acks'],
];

const GROUPS = [
  { key: 'queue', title: 'Queue node, memory mode', needs: ['codec', 'client', 'mqCli'], run: benchQueueNode },
  { key: 'worker', title: 'Worker (CLI) on queue nodes', needs: ['codec', 'client', 'mqCli', 'workerCli'], run: benchWorker },
  { key: 'durable', title: 'Durability: put throughput vs memory mode', needs: ['codec', 'client', 'mqCli'], run: benchDurability },
  { key: 'memory', title: 'Memory per queued message', needs: ['codec', 'client', 'mqCli'], run: benchMemory },
  { key: 'latency', title: 'Latency, put to get', needs: ['codec', 'client', 'mqCli'], run: benchLatency },
  { key: 'beanstalkd', title: 'Real peer: beanstalkd 1.12 (TCP text protocol)', needs: [], run: benchBeanstalkd },
  { key: 'jetstream', title: 'Real peer: NATS JetStream (file store, work-queue stream)', needs: [], run: benchJetStream },
  { key: 'jetstream-node', title: 'Queue node on JetStream (streampy-mq --nats, same nats-server setup as the peer)', needs: ['codec', 'client', 'mqCli'], run: benchJetStreamNode },
];

/**
 * The JetStream-backed node (issue 11) beside the JetStream peer, a client talking to JetStream
 * directly: what the UDP front costs. Goal 0.8x for batched puts and consumes.
 */
const BACKEND_PAIRS = [
  ['mqjs.put.client.c1', 'jetstream.publish.c1', 'put (awaited PubAck), one at a time'],
  ['mqjs.put.client.c16', 'jetstream.publish.c16', 'put (awaited PubAck), 16 in flight'],
  ['mqjs.batch.put.client', 'jetstream.publish.b100', 'putMany(100) vs 100 publishes per write, 4 in flight', 0.8],
  ['mqjs.consume.client.c1', 'jetstream.consume.b1', 'reserve + ack vs next + ack, one at a time'],
  ['mqjs.batch.consume.client', 'jetstream.consume.b100', 'reserve 100 + acks vs fetch 100 + acks', 0.8],
  ['mqjs.batch.get.client', 'jetstream.consume.b100', 'getBatch(100), 4 in flight, vs fetch 100 + acks', 0.8],
];

function parseCommandLine() {
  const args = process.argv.slice(2);
  // pnpm forwards a literal `--` (see TOOLCHAIN.md).
  if (args[0] === '--') args.shift();
  const { values } = parseArgs({
    args,
    options: { quick: { type: 'boolean' }, only: { type: 'string' }, out: { type: 'string' }, 'no-build': { type: 'boolean' }, help: { type: 'boolean' } },
  });
  const only = values.only?.split(',').map((key) => key.trim());
  const unknown = only?.filter((key) => !GROUPS.some((group) => group.key === key)) ?? [];
  if (unknown.length > 0) throw new UsageError(`--only: unknown group ${unknown.join(', ')}; known: ${GROUPS.map((g) => g.key).join(', ')}`);
  if (values.out !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(values.out)) throw new UsageError(`--out: a file name stem (letters, digits, . _ -), got "${values.out}"`);
  return { quick: values.quick ?? false, only, out: values.out, build: !values['no-build'], help: values.help ?? false };
}

class UsageError extends Error {}

function build() {
  log('building the workspace (tsc -b) ...');
  const tsc = fileURLToPath(new URL('../node_modules/typescript/bin/tsc', import.meta.url));
  const result = spawnSync(process.execPath, [tsc, '-b'], { cwd: root, encoding: 'utf8', timeout: 240_000 });
  if (result.status !== 0) {
    const first = `${result.stdout}${result.stderr}`.split('\n').filter(Boolean).slice(0, 5).join('\n  ');
    log(`tsc -b failed; benchmarking whatever is already built:\n  ${first}`);
  }
}

/**
 * The echo baseline a row is divided by, measured just before and just after the case (so
 * drift in machine load cancels out); `spread` is how far the two differ, a noise indicator.
 */
function echoMeter(echo, quick, echoRuns) {
  const short = quick ? { warmupMs: 30, durationMs: 150, maxOps: 5_000 } : { warmupMs: 100, durationMs: 500, maxOps: 100_000 };
  const once = async (kind) => {
    if (kind === 'pipelined') {
      const result = await echo.pipelined({ ...short, window: 32 }, () => ({ datagram: ECHO_DATAGRAM, units: 1 }), () => ({ sent: 1, done: 1 }));
      return { rate: result.rate, samples: [] };
    }
    return closedLoop({ ...short, latencies: true }, async () => {
      await echo.request(ECHO_DATAGRAM);
      return 1;
    });
  };
  return async (id, label, run) => {
    const base = specOf(id).base;
    const kind = base === 'pipelined' ? 'pipelined' : base === 'rt' || base === 'latency' ? 'rt' : undefined;
    if (kind === undefined) return { id, label, ...(await run()) };
    const before = await once(kind);
    const result = await run();
    const after = await once(kind);
    const mean = (before.rate + after.rate) / 2;
    echoRuns.push({ id, kind, before: before.rate, after: after.rate });
    const measured = { kind, rate: mean, spread: Math.abs(before.rate - after.rate) / mean };
    if (kind === 'rt') measured.latency = latencySummary([...before.samples, ...after.samples]);
    return { id, label, ...result, echo: measured };
  };
}

const rate = (value, unit = 'msg/s') => `${Math.round(value).toLocaleString('en-US')} ${unit}`;
/** Marks a baseline whose before and after measurements differ by more than 25%. */
const noise = (echo) => (echo.spread > 0.25 ? ` (noisy: ±${Math.round(echo.spread * 50)}%)` : '');
const micros = (s) => `${s.p50.toFixed(0)} / ${s.p99.toFixed(0)} / ${s.p999.toFixed(0)} µs`;

/** Turns a measured row into a table row: result text, its baseline, ratio and goal. */
function finishRow(raw, groupRows) {
  const echo = raw.echo;
  const spec = specOf(raw.id);
  const row = { ...raw, goal: spec.goal };
  delete row.samples;
  if (raw.id === 'memory.overhead') {
    row.resultText = `${raw.value.toFixed(1)} B overhead (${(raw.value + 16).toFixed(1)} B RSS per message)`;
    row.baselineText = `${raw.baselineOverhead.toFixed(1)} B overhead: plain Node array of 16-byte Buffers`;
    row.ratio = raw.value / raw.baselineOverhead;
    row.met = raw.value <= spec.goal.max;
    row.chart = false;
    return row;
  }
  if (raw.id.startsWith('latency.')) {
    row.resultText = `p50/p99/p99.9 ${micros(raw)}`;
    row.baselineText = `echo round trip ${micros(echo.latency)}${noise(echo)}`;
    row.ratio = raw.p50 / echo.latency.p50;
    row.chart = false;
    return row;
  }
  const unit = raw.id.startsWith('worker.pong.') ? 'rounds/s' : 'msg/s';
  row.value = raw.rate;
  row.unit = unit;
  row.resultText = `${rate(raw.rate, unit)}${raw.lost ? ` (${raw.lost} lost)` : ''}`;
  let baseValue;
  if (spec.base === 'rt') {
    baseValue = echo.rate;
    row.baselineText = `echo ${rate(echo.rate, 'round trips/s')}${noise(echo)}`;
  } else if (spec.base === 'pipelined') {
    baseValue = echo.rate;
    row.baselineText = `echo ${rate(echo.rate, 'datagrams/s')} pipelined${noise(echo)}`;
  } else {
    const base = groupRows.find((r) => r.id === spec.base);
    baseValue = base?.rate;
    row.baselineText = base ? `${spec.baseLabel ?? base.label.replace(/^.*, /, '')} ${rate(base.rate, unit)}` : 'n/a';
  }
  row.ratio = raw.ops > 0 && baseValue ? raw.rate / baseValue : NaN;
  if (spec.goal) row.met = Number.isFinite(row.ratio) && row.ratio >= spec.goal.min;
  return row;
}

/**
 * The JetStream-backed node vs the peer (ratio of echo ratios, like the on-par rows) and vs the
 * same case in memory mode (plain ratio of rates: their baselines differ in kind for batches).
 */
function backendSection(rowsById) {
  const rows = [];
  for (const [oursId, peerId, what, goal] of BACKEND_PAIRS) {
    const ours = rowsById.get(oursId);
    const peer = rowsById.get(peerId);
    if (!ours || !peer || !Number.isFinite(ours.ratio) || !Number.isFinite(peer.ratio)) continue;
    const ratio = ours.ratio / peer.ratio;
    rows.push({
      id: `jsbackend.${oursId}.${peerId}`,
      label: `${what}: streampy --nats vs JetStream peer`,
      chartLabel: `--nats ${what}: vs JetStream`,
      resultText: `streampy ${rate(ours.rate)} (${formatRatio(ours.ratio)} echo)`,
      baselineText: `JetStream ${rate(peer.rate)} (${formatRatio(peer.ratio)} echo)`,
      ratio,
      ...(goal === undefined ? {} : { goal: { min: goal }, met: ratio >= goal }),
    });
  }
  for (const ours of rowsById.values()) {
    if (!ours.id.startsWith('mqjs.')) continue;
    const memory = rowsById.get(`mq.${ours.id.slice('mqjs.'.length)}`);
    if (!memory || !(memory.rate > 0)) continue;
    rows.push({
      id: `jsbackend.${ours.id}.memory`,
      label: `${ours.label}: --nats vs memory mode`,
      chartLabel: `--nats vs memory: ${ours.label}`,
      resultText: `--nats ${rate(ours.rate)}`,
      baselineText: `memory ${rate(memory.rate)}`,
      ratio: ours.rate / memory.rate,
    });
  }
  return rows;
}

function peerSection(rowsById) {
  const rows = [];
  for (const [oursId, peerId, what] of PEER_PAIRS) {
    const ours = rowsById.get(oursId);
    const peer = rowsById.get(peerId);
    if (!ours || !peer || !Number.isFinite(ours.ratio) || !Number.isFinite(peer.ratio)) continue;
    const peerName = peerId.startsWith('beanstalkd') ? 'beanstalkd' : 'JetStream';
    const ratio = ours.ratio / peer.ratio;
    rows.push({
      id: `par.${oursId}.${peerId}`,
      label: `${what}: streampy client vs ${peerName}`,
      chartLabel: `${what}: vs ${peerName}`,
      resultText: `streampy ${formatRatio(ours.ratio)} echo`,
      baselineText: `${peerName} ${formatRatio(peer.ratio)} echo`,
      ratio,
      goal: { min: ON_PAR },
      met: ratio >= ON_PAR,
    });
  }
  return rows;
}

async function main() {
  const options = parseCommandLine();
  if (options.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const started = Date.now();
  const budget = budgetFor(options.quick);
  if (options.build) build();
  const loadBefore = loadavg();

  const echoServer = await startProcess('echo-server', process.execPath, [fileURLToPath(new URL('./echo-server.mjs', import.meta.url))], {
    ready: /listening on ([\d.]+):(\d+)/,
  });
  const echo = await UdpPeer.open(echoServer.match[1], Number(echoServer.match[2]));
  const sections = [];
  const echoRuns = [];
  const measure = echoMeter(echo, options.quick, echoRuns);
  let streampy;
  try {
    for (const group of GROUPS) {
      if (options.only && !options.only.includes(group.key)) continue;
      const missing = missingBuilds(...group.needs);
      if (missing.length > 0) {
        sections.push({ title: group.title, rows: [{ id: group.key, label: group.title, skipped: `not built: ${missing.join(', ')}` }] });
        continue;
      }
      log(`${group.key} ...`);
      let result;
      try {
        if (group.needs.length > 0) streampy ??= await loadStreampy();
        result = await group.run({ budget, quick: options.quick, body: BODY, streampy, log, measure });
      } catch (error) {
        log(`${group.key} failed: ${error.stack ?? error}`);
        result = { skipped: `failed: ${error.message.split('\n')[0]}` };
      }
      if (result.skipped) {
        sections.push({ title: group.title, rows: [{ id: group.key, label: group.title, skipped: result.skipped }] });
        log(`${group.key} skipped: ${result.skipped}`);
        continue;
      }
      sections.push({ title: group.title, rows: result.rows.map((raw) => finishRow(raw, result.rows)) });
    }
  } finally {
    echo.close();
    await cleanupAll();
  }

  const rowsById = new Map(sections.flatMap((s) => s.rows).filter((r) => !r.skipped).map((r) => [r.id, r]));
  const par = peerSection(rowsById);
  if (par.length > 0) sections.push({ title: `On par with the real peers (ratio of ratios; goal >= ${ON_PAR}x)`, note: 'each side divided by the echo measured around it', rows: par });
  const backend = backendSection(rowsById);
  if (backend.length > 0) sections.push({ title: 'JetStream backend: streampy-mq --nats vs the JetStream peer and vs memory mode', note: 'vs the peer: ratio of echo ratios; vs memory: ratio of rates', rows: backend });
  const baselineSummary = summarizeEcho(echoRuns);
  sections.unshift({
    title: 'Baseline: plain Node.js UDP echo server (own process)',
    note: `${ECHO_DATAGRAM.length}-byte datagrams (one PUT frame of a ${MESSAGE_BYTES}-byte message), measured before and after every case`,
    rows: baselineSummary,
  });

  const goals = sections.flatMap((s) => s.rows).filter((r) => r.goal && !r.skipped);
  const missed = goals.filter((r) => !r.met);
  const seconds = (Date.now() - started) / 1000;
  const machine = { cpus: cpus().length, cpu: cpus()[0]?.model, node: process.version, loadavgBefore: loadBefore, loadavgAfter: loadavg() };
  const header = `streampy bench${options.quick ? ' (--quick)' : ''}: ${new Date().toISOString()}, ${machine.cpus} cores, Node ${machine.node}, load average ${machine.loadavgBefore[0].toFixed(1)} -> ${machine.loadavgAfter[0].toFixed(1)}, ${seconds.toFixed(0)} s`;
  const summary = `Goals: ${goals.length - missed.length} met, ${missed.length} missed${missed.length > 0 ? `: ${missed.map((r) => `${r.label} (${r.id.startsWith('memory') ? r.resultText : formatRatio(r.ratio)}, goal ${goalText(r.goal)})`).join('; ')}` : ''}.`;

  process.stdout.write(`${header}\n${terminalTable(sections)}\n\n${summary}\n`);
  mkdirSync(resultsDir, { recursive: true });
  // A smoke test must not overwrite the last real measurement.
  const name = options.out ?? (options.quick ? 'quick' : 'latest');
  const stem = `${resultsDir}${name}`;
  writeFileSync(`${stem}.json`, `${JSON.stringify({ generatedAt: new Date().toISOString(), quick: options.quick, seconds, machine, messageBytes: MESSAGE_BYTES, echoDatagramBytes: ECHO_DATAGRAM.length, echoRuns, sections }, null, 2)}\n`);
  writeFileSync(`${stem}.md`, `${header}\n\n${markdownTable(sections)}\n\n${summary}\n`);
  const footer = [];
  for (const row of sections.flatMap((s) => s.rows)) {
    if (row.chart !== false || row.skipped) continue;
    footer.push(`${row.label}: ${row.resultText}`);
    if (row.baselineText) footer.push(`    baseline: ${row.baselineText}${row.goal ? `; goal ${goalText(row.goal)}: ${row.met ? 'met' : 'MISSED'}` : ''}`);
  }
  footer.push(`Goals: ${goals.length - missed.length} met, ${missed.length} missed (details in ${name}.md).`);
  writeFileSync(`${stem}.svg`, svgChart(sections, {
    title: `streampy bench: ratios to a Node.js UDP echo measured in the same run${options.quick ? ' (--quick)' : ''}`,
    subtitle: header,
    footer,
  }));
  log(`wrote ${stem}.{json,md,svg}`);
  return 0;
}

function summarizeEcho(runs) {
  const describe = (kind, unit) => {
    const values = runs.filter((r) => r.kind === kind).flatMap((r) => [r.before, r.after]).sort((a, b) => a - b);
    if (values.length === 0) return 'not measured';
    const median = values[Math.floor(values.length / 2)];
    return `${rate(median, unit)} median, ${rate(values[0], '').trim()} to ${rate(values[values.length - 1], '').trim()} over ${values.length} runs`;
  };
  return [
    { id: 'echo.rt', label: 'echo round trips, one at a time', resultText: describe('rt', 'round trips/s'), ratio: 1, chart: false },
    { id: 'echo.pipelined', label: 'echo datagrams, 32 in flight', resultText: describe('pipelined', 'datagrams/s'), ratio: 1, chart: false },
  ];
}

process.on('exit', killAllSync);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    log(`${signal}: stopping every process started`);
    void cleanupAll().finally(() => process.exit(130));
  });
}
main().then(
  (code) => {
    process.exitCode = code;
  },
  async (error) => {
    await cleanupAll();
    const usage = error instanceof UsageError || error?.code?.startsWith?.('ERR_PARSE_ARGS');
    process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = usage ? 2 : 1;
  },
);
