// What the SIGKILL scripts (crash-check.mjs, soak.mjs) share: a real `streampy-mq --data-dir`
// process started and killed, UDP sockets, one request at a time, option parsing. Run after a
// build: the node is dist/cli.js.
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { decodeFrame, encodeFrame, encodeRequest, parseReply } from '@streampy/codec';
import { normalizeArgv } from '@streampy/runtime';

const cli = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

/** Nodes still running: killed by `killAll` whatever happens. */
export const running = new Set();

export function killAll() {
  for (const child of running) child.kill('SIGKILL');
}

/** Kills the node children and exits on SIGINT/SIGTERM, so no node outlives its script. */
export function exitWithNodes(program) {
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, () => {
      killAll();
      process.exit(1);
    });
  }
  return (error) => {
    killAll();
    process.stderr.write(`${program}: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  };
}

/** A usage error: one line and exit 2. */
export function usageError(program, message) {
  process.stderr.write(`${program}: ${message}\nTry '${program} --help'\n`);
  process.exit(2);
}

/**
 * Parses `options` (name -> { default, min } for integers, or { type: 'string' | 'boolean' }) with
 * `--help` printing `help`; a bad value exits 2 with one line.
 */
export function parseOptions(program, help, spec) {
  const usage = (message) => usageError(program, message);
  const options = { help: { type: 'boolean', default: false } };
  for (const [name, entry] of Object.entries(spec)) {
    options[name] = entry.type === 'boolean' ? { type: 'boolean', default: false } : { type: 'string', ...(entry.default === undefined ? {} : { default: String(entry.default) }) };
  }
  let values;
  try {
    ({ values } = parseArgs({ args: normalizeArgv(process.argv.slice(2)), options }));
  } catch (error) {
    usage(error.message);
  }
  if (values.help) {
    process.stdout.write(help);
    process.exit(0);
  }
  const result = {};
  for (const [name, entry] of Object.entries(spec)) {
    const key = name.replace(/-([a-z])/g, (_, letter) => letter.toUpperCase());
    const value = values[name];
    if (entry.min === undefined || value === undefined) result[key] = value;
    else {
      const number = Number(value);
      if (!Number.isInteger(number) || number < entry.min) usage(`--${name} must be an integer >= ${entry.min}`);
      result[key] = number;
    }
  }
  if (result.fsync !== undefined && result.fsync !== 'always' && result.fsync !== 'never' && !(Number(result.fsync) > 0)) usage('--fsync must be always, never or a number of ms');
  return result;
}

/**
 * Starts `streampy-mq` (on `dataDir` with `fsync` when given, in memory otherwise, plus `extraArgs`)
 * and resolves with it once it printed where it listens.
 */
export async function startNode(dataDir, fsync, extraArgs = []) {
  const storage = dataDir === undefined ? [] : ['--data-dir', dataDir, '--fsync', fsync];
  const child = spawn(process.execPath, [cli, '--address', '127.0.0.1:0', ...storage, '--log-level', 'warn', '--log-format', 'json', ...extraArgs], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  exited.then(() => running.delete(child));
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const lines = createInterface({ input: child.stdout });
  const port = await Promise.race([
    new Promise((resolve) => {
      lines.on('line', (line) => {
        const match = /^streampy-mq listening on .*:(\d+)$/.exec(line);
        if (match) resolve(Number(match[1]));
      });
    }),
    exited.then(({ code, signal }) => {
      throw new Error(`node exited (${signal ?? code}) before listening: ${stderr.trim()}`);
    }),
    sleep(15_000).then(() => {
      throw new Error(`node did not listen within 15 s: ${stderr.trim()}`);
    }),
  ]);
  return { child, port, exited, stderr: () => stderr };
}

export async function kill(node, signal) {
  if (node.child.exitCode === null && node.child.signalCode === null) node.child.kill(signal);
  await node.exited;
}

export async function openSocket() {
  const socket = createSocket('udp4');
  await new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', resolve);
  });
  return socket;
}

/**
 * The first datagram `accept` turns into a value (it returns undefined to skip one): undefined
 * after `timeoutMs`, or as soon as `cancel` (a Set) has its entry called.
 */
function awaitReply(socket, timeoutMs, cancel, accept) {
  return new Promise((resolve) => {
    const settle = (value) => {
      clearTimeout(timer);
      socket.off('message', onMessage);
      cancel?.delete(settle);
      resolve(value);
    };
    const timer = setTimeout(() => settle(undefined), timeoutMs);
    const onMessage = (datagram) => {
      let value;
      try {
        value = accept(datagram);
      } catch {
        return;
      }
      if (value !== undefined) settle(value);
    };
    socket.on('message', onMessage);
    cancel?.add(settle);
  });
}

/** Sends one request frame and resolves with the next reply's payload bytes (see awaitReply). */
export function request(socket, port, payload, timeoutMs, cancel) {
  const reply = awaitReply(socket, timeoutMs, cancel, (datagram) => decodeFrame(datagram));
  socket.send(encodeFrame(payload), port, '127.0.0.1');
  return reply;
}

let nextId = 0;

/**
 * Sends `req` with a fresh request id and resolves with the parsed reply carrying that id (a
 * late reply to an earlier, timed-out request is skipped); see awaitReply.
 */
export function call(socket, port, req, timeoutMs, cancel) {
  const id = (nextId++).toString(36);
  const sent = { ...req, id };
  const reply = awaitReply(socket, timeoutMs, cancel, (datagram) => {
    const parsed = parseReply(decodeFrame(datagram), sent, false);
    return parsed.id === id ? parsed : undefined;
  });
  socket.send(encodeFrame(encodeRequest(sent)), port, '127.0.0.1');
  return reply;
}

export const text = (bytes) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');

/** GETs until the queue is empty; the bodies in queue order. */
export async function drain(port, limit) {
  const socket = await openSocket();
  try {
    const bodies = [];
    for (let i = 0; i <= limit; i++) {
      const reply = await request(socket, port, 'GET', 5_000);
      if (reply === undefined) throw new Error('no reply to GET within 5 s');
      if (reply.length === 0) return bodies;
      bodies.push(text(reply));
    }
    throw new Error(`queue still not empty after ${limit} GETs`);
  } finally {
    socket.close();
  }
}

export async function diskBytes(dir) {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += (await stat(join(entry.parentPath, entry.name))).size;
  }
  return total;
}
