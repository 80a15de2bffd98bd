#!/usr/bin/env node
// The memory-budget flood (issue 8): starts a real `streampy-mq` (dist/cli.js: build first) on
// 127.0.0.1 with its default flags (or --max-memory), floods it from several sockets with
// full-size PUTs spread over many queues, drains it, then floods it with keyed PUTs (many small
// keyed puts per datagram, every key new), while a probe socket checks it answers SIZE and
// STATS and its RSS (/proc/<pid>/status VmRSS) is sampled. Prints the figures as JSON and exits
// 1 if the node died, stopped answering, went over its budget plus the documented slack, or
// refused a put with anything but ERR FULL. Loopback only; the node is stopped by its PID.
//   node packages/mq/scripts/flood.mjs [--put-ms 30000] [--keyed-ms 30000] [--sockets 6] [--queues 60] [--max-memory BYTES]
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeFrames, encodeFrame, encodeFrames, parseNodeStats } from '@streampy/codec';
import { MAX_MESSAGE_BYTES, rssSlackFor } from '../dist/index.js';
import { exitWithNodes, openSocket, parseOptions, startNode, text } from './lib/durable-node.mjs';

const PROGRAM = 'flood.mjs';
const HELP = `Usage: node packages/mq/scripts/flood.mjs [options]
  --put-ms N        full-size PUT flood, ms (default 30000)
  --keyed-ms N      keyed PUT flood after draining, ms (default 30000)
  --sockets N       flooding sockets (default 6)
  --queues N        queues the puts are spread over (default 60)
  --max-memory B    the node's --max-memory (default: the node's own default)
`;
const options = parseOptions(PROGRAM, HELP, {
  'put-ms': { default: 30_000, min: 0 },
  'keyed-ms': { default: 30_000, min: 0 },
  sockets: { default: 6, min: 1 },
  queues: { default: 60, min: 1 },
  'max-memory': { min: 1_048_576 },
});
const fail = exitWithNodes(PROGRAM);
/** Datagrams a socket has in flight at most: enough to keep the node busy, bounded. */
const WINDOW = 16;
/** Every datagram a socket sends in a phase, at most (the phase also ends on time). */
const MAX_DATAGRAMS = 2_000_000;
const KEYED_PER_DATAGRAM = 300;

function vmRss(pid) {
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) * 1024 : 0;
}

const tally = { datagrams: 0, accepted: 0, duplicates: 0, refusedFull: 0, otherReplies: 0, other: [] };

/** Counts the replies of one datagram: every reply frame is `#id PUT ...` or `#id ERR <CODE> ...`. */
function count(datagram) {
  for (const payload of decodeFrames(datagram)) {
    const reply = text(payload);
    const status = reply.slice(reply.indexOf(' ') + 1);
    if (status.startsWith('PUT ')) {
      if (status.endsWith(' DUP')) tally.duplicates++;
      else tally.accepted++;
    } else if (status.startsWith('ERR FULL ')) tally.refusedFull++;
    else {
      tally.otherReplies++;
      if (tally.other.length < 5) tally.other.push(reply.slice(0, 200));
    }
  }
}

/** One socket flooding `datagram(i)` until `until`, at most WINDOW datagrams without a reply. */
async function flood(port, until, datagram) {
  const socket = await openSocket();
  let inFlight = 0;
  let wake;
  socket.on('message', (reply) => {
    count(reply);
    inFlight = Math.max(0, inFlight - 1);
    wake?.();
  });
  try {
    for (let i = 0; i < MAX_DATAGRAMS && Date.now() < until; i++) {
      // A datagram lost (the node or the kernel dropped it under load) is forgotten after 50 ms.
      if (inFlight >= WINDOW) await Promise.race([new Promise((resolve) => (wake = resolve)), sleep(50).then(() => (inFlight = 0))]);
      await new Promise((resolve) => socket.send(datagram(i), port, '127.0.0.1', resolve));
      inFlight++;
      tally.datagrams++;
    }
    await sleep(200);
  } finally {
    socket.close();
  }
}

/** Asks SIZE and STATS of a node under flood; the STATS, or undefined without an answer in 5 s. */
async function probe(socket, port, queue) {
  for (let attempt = 0; attempt < 10; attempt++) {
    const id = `p${attempt}${Date.now().toString(36)}`;
    const answer = new Promise((resolve) => {
      const onMessage = (datagram) => {
        const replies = decodeFrames(datagram).map(text);
        if (!replies[0]?.startsWith(`#${id}`)) return;
        socket.off('message', onMessage);
        resolve(replies);
      };
      socket.on('message', onMessage);
      setTimeout(() => {
        socket.off('message', onMessage);
        resolve(undefined);
      }, 500).unref();
    });
    socket.send(encodeFrames([`#${id} SIZE q=${queue}`, `#${id} STATS`]), port, '127.0.0.1');
    const replies = await answer;
    if (replies !== undefined && /^#\S+ SIZE \d+$/.test(replies[0] ?? '') && replies[1]?.startsWith(`#${id} STATS:`)) {
      return parseNodeStats(JSON.parse(replies[1].slice(replies[1].indexOf(':') + 1)));
    }
  }
  return undefined;
}

/** GETs every queue empty: the node serves under its budget. */
async function drainAll(port, queues) {
  const socket = await openSocket();
  let taken = 0;
  try {
    for (let q = 0; q < queues; q++) {
      for (let round = 0; round < 100_000; round++) {
        socket.send(encodeFrame(`#d GET max=1000 q=f${q}`), port, '127.0.0.1');
        const reply = await Promise.race([new Promise((resolve) => socket.once('message', resolve)), sleep(2_000).then(() => undefined)]);
        if (reply === undefined) continue;
        const status = text(decodeFrames(reply)[0] ?? new Uint8Array(0));
        const match = /^#d MSGS (\d+):/.exec(status);
        if (!match) throw new Error(`drain: unexpected reply ${status.slice(0, 80)}`);
        if (match[1] === '0') break;
        taken += Number(match[1]);
      }
    }
  } finally {
    socket.close();
  }
  return taken;
}

async function main() {
  const node = await startNode(undefined, undefined, options.maxMemory === undefined ? [] : ['--max-memory', String(options.maxMemory)]);
  const { pid } = node.child;
  const probeSocket = await openSocket();
  let peakRss = vmRss(pid);
  const sampler = setInterval(() => {
    try {
      peakRss = Math.max(peakRss, vmRss(pid));
    } catch {
      // The node is gone: the probe says so.
    }
  }, 50);
  const figures = { budget: 0, slack: 0, startRss: peakRss };
  try {
    const first = await probe(probeSocket, node.port, 'f0');
    if (first?.memory === undefined) throw new Error('the node did not answer STATS with its memory budget');
    figures.budget = first.memory.limit;
    figures.slack = rssSlackFor(figures.budget);
    const body = Buffer.alloc(MAX_MESSAGE_BYTES, 0x62);
    const put = (socketIndex) => (i) => encodeFrame(Buffer.concat([Buffer.from(`#${i.toString(36)} PUT q=f${(i * options.sockets + socketIndex) % options.queues}:`), body]));
    let until = Date.now() + options.putMs;
    await Promise.all(Array.from({ length: options.sockets }, (_, s) => flood(node.port, until, put(s))));
    const afterPuts = await probe(probeSocket, node.port, 'f1');
    figures.puts = { ...tally, other: [...tally.other], memory: afterPuts?.memory, rssPeak: peakRss };
    figures.drained = await drainAll(node.port, options.queues);
    Object.assign(tally, { datagrams: 0, accepted: 0, duplicates: 0, refusedFull: 0, otherReplies: 0, other: [] });
    const keyed = (socketIndex) => (i) => {
      const frames = [];
      for (let k = 0; k < KEYED_PER_DATAGRAM; k++) frames.push(`#${k} PUT key=s${socketIndex}-${i.toString(36)}-${k} q=f${(i + k) % options.queues}:${'k'.repeat(16)}`);
      return encodeFrames(frames);
    };
    until = Date.now() + options.keyedMs;
    await Promise.all(Array.from({ length: options.sockets }, (_, s) => flood(node.port, until, keyed(s))));
    const afterKeys = await probe(probeSocket, node.port, 'f2');
    figures.keyed = { ...tally, other: [...tally.other], memory: afterKeys?.memory };
    figures.alive = afterKeys !== undefined && node.child.exitCode === null;
  } finally {
    clearInterval(sampler);
    probeSocket.close();
    figures.peakRss = peakRss;
    if (node.child.exitCode === null) node.child.kill('SIGTERM');
    figures.exit = await Promise.race([node.exited, sleep(10_000).then(() => 'no exit within 10 s')]);
    if (node.child.exitCode === null) node.child.kill('SIGKILL');
  }
  figures.withinBudget = figures.peakRss <= figures.budget + figures.slack;
  figures.onlyFull = figures.puts.otherReplies === 0 && figures.keyed.otherReplies === 0;
  process.stdout.write(`${JSON.stringify(figures)}\n`);
  const ok = figures.alive && figures.withinBudget && figures.onlyFull && figures.exit?.code === 0;
  process.exitCode = ok ? 0 : 1;
}

main().catch(fail);
