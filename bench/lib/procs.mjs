// Child processes, temp dirs and system tools for the bench. Every process started here is
// tracked by PID and stopped by PID (SIGTERM, then SIGKILL), also when the run fails or is
// interrupted; every temp dir made here is removed the same way.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const running = new Map();
const tempDirs = new Set();

/**
 * Starts `command` and resolves once a line of its stdout or stderr matches `ready`
 * (the match is returned), or once spawned when `ready` is undefined. Rejects, after stopping
 * it, if it exits or times out first.
 */
export function startProcess(name, command, args, { ready, readyTimeoutMs = 10_000, env } = {}) {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: env ?? process.env });
  const handle = { name, pid: child.pid, child, exited: false, tail: [] };
  running.set(child.pid, handle);
  const exitedPromise = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      handle.exited = true;
      running.delete(child.pid);
      resolve({ code, signal });
    });
  });
  handle.exitedPromise = exitedPromise;
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (fn, value) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn(value);
    };
    const onLine = (line) => {
      handle.tail.push(line);
      if (handle.tail.length > 20) handle.tail.shift();
      const match = ready?.exec(line);
      if (match && !settled) {
        handle.match = match;
        handle.stop = () => stopProcess(handle);
        settle(resolve, handle);
      }
    };
    for (const stream of [child.stdout, child.stderr]) {
      let buffered = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk) => {
        buffered += chunk;
        let nl;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          onLine(buffered.slice(0, nl));
          buffered = buffered.slice(nl + 1);
        }
        // A chatty child must not grow the runner's memory; only line starts matter here.
        if (buffered.length > 65_536) buffered = '';
      });
    }
    const timer = setTimeout(() => {
      void stopProcess(handle);
      settle(reject, new Error(`${name} did not get ready within ${readyTimeoutMs} ms; last output: ${handle.tail.join(' | ').slice(-400)}`));
    }, readyTimeoutMs);
    child.once('error', (error) => settle(reject, new Error(`${name} failed to start: ${error.message}`)));
    if (ready === undefined) {
      child.once('spawn', () => {
        handle.stop = () => stopProcess(handle);
        settle(resolve, handle);
      });
    }
    void exitedPromise.then(({ code, signal }) =>
      settle(reject, new Error(`${name} exited (${signal ?? code}) before it was ready; last output: ${handle.tail.join(' | ').slice(-400)}`)),
    );
  });
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
export async function stopProcess(handle, graceMs = 3000) {
  if (handle.exited) return;
  try {
    process.kill(handle.pid, 'SIGTERM');
  } catch {
    return;
  }
  let timer;
  const killed = new Promise((resolve) => {
    timer = setTimeout(() => {
      try {
        if (!handle.exited) process.kill(handle.pid, 'SIGKILL');
      } catch {
        // already gone
      }
      resolve();
    }, graceMs);
  });
  await Promise.race([handle.exitedPromise, killed]);
  clearTimeout(timer);
  await handle.exitedPromise;
}

/** Stops everything still running and removes every temp dir; used on success and on failure. */
export async function cleanupAll() {
  await Promise.all([...running.values()].map((handle) => stopProcess(handle)));
  for (const dir of tempDirs) removeTempDir(dir);
}

/** Last resort when the runner is exiting synchronously: SIGKILL by PID, remove dirs. */
export function killAllSync() {
  for (const handle of running.values()) {
    try {
      process.kill(handle.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const dir of tempDirs) removeTempDir(dir);
}

export function makeTempDir(prefix) {
  const dir = mkdtempSync(join(tmpdir(), `streampy-bench-${prefix}-`));
  tempDirs.add(dir);
  return dir;
}

export function removeTempDir(dir) {
  rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

/** Resident set size of a process in bytes, from /proc/<pid>/status (Linux). */
export function residentBytes(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!match) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

/** A TCP port free right now on 127.0.0.1 (for servers that cannot report an OS-picked port). */
export function freeTcpPort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once a TCP server accepts connections on 127.0.0.1:`port`. */
export async function waitForTcp(port, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise((resolve) => {
      const socket = connect({ port, host: '127.0.0.1' });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing accepts connections on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function which(binary) {
  const result = spawnSync('which', [binary], { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

/**
 * The path of `binary`, installing Debian package `pkg` with apt-get when it is missing and
 * we run as root. Returns `{ path }` or `{ reason }` saying why it is unavailable.
 */
export function ensureTool(binary, pkg, log) {
  const found = which(binary);
  if (found) return { path: found };
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot || !existsSync('/usr/bin/apt-get')) {
    return { reason: `${binary} is not installed and cannot be installed here (need root and apt-get): run 'apt-get install -y ${pkg}'` };
  }
  log(`${binary} missing: apt-get install -y ${pkg} ...`);
  const options = { stdio: 'ignore', timeout: 180_000, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } };
  let result = spawnSync('apt-get', ['install', '-y', pkg], options);
  if (result.status !== 0) {
    spawnSync('apt-get', ['update'], options);
    result = spawnSync('apt-get', ['install', '-y', pkg], options);
  }
  const installed = which(binary);
  return installed ? { path: installed } : { reason: `apt-get install -y ${pkg} failed (status ${String(result.status)})` };
}
