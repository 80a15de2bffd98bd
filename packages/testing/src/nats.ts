import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts, monitorJson, monitorStatus } from './nats-probes.js';
import { waitFor } from './wait.js';

/**
 * Real nats-server processes for integration tests (Debian's nats-server 2.9, `apt-get install
 * nats-server`): JetStream on, a temporary file store, loopback only, ports the OS found free.
 */

/** Debian installs it outside a normal user's PATH, hence the fallback. */
const DEBIAN_PATH = '/usr/sbin/nats-server';
/** Attempts when a port picked free was taken by someone else before the server bound it. */
const PORT_ATTEMPTS = 5;
/** How long a server may take to be ready; long because the test machine is shared, never an assertion on speed. */
const READY_MS = 30_000;
/** How much of a server's log is kept for error messages. */
const LOG_TAIL = 8_000;

/** The nats-server to run: $NATS_SERVER, else the one on PATH, else Debian's /usr/sbin one; undefined when there is none. */
export function natsServerPath(): string | undefined {
  const fromEnv = process.env.NATS_SERVER;
  if (fromEnv) return existsSync(fromEnv) ? fromEnv : undefined;
  const which = spawnSync('sh', ['-c', 'command -v nats-server'], { encoding: 'utf8' });
  const onPath = which.status === 0 ? which.stdout.trim() : '';
  if (onPath) return onPath;
  return existsSync(DEBIAN_PATH) ? DEBIAN_PATH : undefined;
}

/** Why the nats-server tests cannot run here, or undefined when they can. */
export function natsServerMissing(): string | undefined {
  if (natsServerPath()) return undefined;
  return `nats-server is missing (apt-get install -y nats-server, or set NATS_SERVER=/path/to/nats-server)`;
}

/** One nats-server process the test controls. */
export interface NatsHandle {
  /** nats://127.0.0.1:<port> */
  readonly url: string;
  /** Its `server_name`: n1, n2, ... in a cluster, the names JetStream reports leaders by. */
  readonly name: string;
  readonly port: number;
  /** The monitoring port (`/healthz`, `/jsz`). */
  readonly monitorPort: number;
  /** Its JetStream store (the server's `-sd`). */
  readonly dir: string;
  /** The pid of the current process; a new one after `restart()`. */
  readonly pid: number;
  /** Whether the current process still runs. */
  readonly running: boolean;
  /** Sends `signal` (default SIGKILL: the crash case) and resolves once the process has exited. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /**
   * Starts it again on the same ports and store, resolving once it accepts clients with JetStream
   * enabled. In a cluster that is before it has caught up: await `healthy()` for that (which needs a
   * quorum, so restart every server first when several are down).
   */
  restart(): Promise<void>;
  /** Resolves once `/healthz` says ok: JetStream current with its meta leader (and, with `assets`, every stream and consumer caught up). */
  healthy(options?: HealthOptions): Promise<void>;
  /** Stops the process (SIGTERM, then SIGKILL) and removes the store unless the caller gave it. */
  stop(): Promise<void>;
}

/** Servers routed to each other on loopback, JetStream clustered. */
export interface NatsClusterHandle {
  readonly urls: readonly string[];
  /** The urls, comma-joined: what `streampy-mq --nats` takes. */
  readonly url: string;
  readonly servers: readonly NatsHandle[];
  /** Resolves once every running server is healthy (a meta leader elected; with `assets`, every stream and consumer current). */
  healthy(options?: HealthOptions): Promise<void>;
  /** The server leading stream `name` (from a running server's `/jsz`), or undefined when none does (yet). */
  streamLeader(name: string): Promise<NatsHandle | undefined>;
  stop(): Promise<void>;
}

export interface HealthOptions {
  /** Give up after this long (default 30000: a broken cluster, not a slow one). */
  readonly timeoutMs?: number;
  /**
   * Also wait for every stream and consumer replica on the server to be current. Off by default:
   * nats-server 2.9 leaves an idle consumer's replica on a restarted server "not current" until
   * the consumer sees traffic, so this can wait forever on a quiet cluster.
   */
  readonly assets?: boolean;
}

export interface StartNatsOptions {
  /** The JetStream store; a temporary directory (removed on stop) when not given. */
  readonly dir?: string;
}

/**
 * Runs the server under a small shell that takes it down when its stdin closes, which the kernel
 * does when the test process ends in any way (SIGKILL, a vitest worker torn down): no
 * nats-server outlives its test. The shell prints the server's own pid first, so signals (the
 * kill -9 of a crash test) go to the server, not to the shell.
 */
const WATCHDOG = [
  'exec 3<&0',
  '"$@" </dev/null &',
  'server=$!',
  'echo "nats-server pid $server"',
  '(while read -r _; do :; done <&3; kill -9 "$server" 2>/dev/null) &',
  'watcher=$!',
  'wait "$server"',
  'status=$?',
  'kill "$watcher" 2>/dev/null',
  'exit "$status"',
].join('\n');
const SERVER_PID = /^nats-server pid (\d+)$/m;

/** The ports of one server: clients, monitoring, and (in a cluster) routes. */
interface Ports {
  readonly client: number;
  readonly monitor: number;
  readonly cluster?: number;
}

/** How to start one server; the same every time it is (re)started. */
interface ServerSpec {
  readonly binary: string;
  readonly ports: Ports;
  readonly dir: string;
  readonly ownDir: boolean;
  readonly name: string;
  /** Extra arguments (cluster name, routes). */
  readonly extra: readonly string[];
}

function serverArgs(spec: ServerSpec): string[] {
  const { ports } = spec;
  // -a binds clients and (by default) monitoring to loopback; the cluster listen address says so itself.
  const args = ['-a', '127.0.0.1', '-p', String(ports.client), '-m', String(ports.monitor), '-js', '-sd', spec.dir, '--server_name', spec.name];
  if (ports.cluster !== undefined) args.push('--cluster', `nats://127.0.0.1:${ports.cluster}`);
  return [...args, ...spec.extra];
}

/** Thrown when a port picked free was taken before the server bound it: the caller picks others. */
class PortTaken extends Error {}

class NatsServer implements NatsHandle {
  readonly url: string;
  readonly name: string;
  readonly port: number;
  readonly monitorPort: number;
  readonly dir: string;
  /** The watchdog shell (see WATCHDOG); it exits when the server does. */
  #child: ChildProcess | undefined;
  #serverPid = -1;
  #exited: Promise<void> = Promise.resolve();
  #log = '';
  #stopped = false;

  constructor(readonly spec: ServerSpec) {
    this.port = spec.ports.client;
    this.monitorPort = spec.ports.monitor;
    this.url = `nats://127.0.0.1:${this.port}`;
    this.name = spec.name;
    this.dir = spec.dir;
  }

  get pid(): number {
    return this.#serverPid;
  }

  get running(): boolean {
    return this.#child !== undefined && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  /** The end of what the server logged, for error messages. */
  get log(): string {
    return this.#log;
  }

  /** Spawns the process and resolves once it answers clients (PortTaken when its ports were taken). */
  async launch(): Promise<void> {
    if (this.#stopped) throw new Error(`nats-server on ${this.port} was stopped; start a new one`);
    if (this.running) throw new Error(`nats-server on ${this.port} is already running (pid ${this.pid})`);
    this.#log = '';
    this.#serverPid = -1;
    const child = spawn('sh', ['-c', WATCHDOG, 'nats-server', this.spec.binary, ...serverArgs(this.spec)], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.#child = child;
    const keep = (chunk: Buffer): void => {
      this.#log = (this.#log + chunk.toString('utf8')).slice(-LOG_TAIL);
    };
    let stdout = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      if (this.#serverPid < 0) {
        stdout += chunk.toString('utf8');
        const match = SERVER_PID.exec(stdout);
        if (match) this.#serverPid = Number(match[1]);
      }
      keep(chunk);
    });
    child.stderr?.on('data', keep);
    this.#exited = new Promise((resolve) => child.once('exit', () => resolve()));
    const spawned = new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    await spawned;
    await waitFor(
      async () => {
        if (!this.running) {
          if (/address already in use/i.test(this.#log)) throw new PortTaken(this.#log);
          throw new Error(`nats-server exited while starting (code ${child.exitCode}, signal ${child.signalCode}): ${this.#log}`);
        }
        // js-enabled-only: up and JetStream on, without waiting for a quorum (see restart()).
        return this.#serverPid > 0 && (await monitorStatus(this.monitorPort, '/healthz?js-enabled-only=true')) === 200;
      },
      { timeoutMs: READY_MS, intervalMs: 25, what: `nats-server on port ${this.port} to accept clients` },
    ).catch(async (error: unknown) => {
      if (this.running) await this.kill();
      throw error;
    });
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (!this.running) return;
    this.#signal(signal);
    await this.#exited;
  }

  /** Signals the server itself (its shell only waits for it); before its pid is known, the shell. */
  #signal(signal: NodeJS.Signals): void {
    try {
      if (this.#serverPid > 0) process.kill(this.#serverPid, signal);
      else this.#child?.kill(signal);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
  }

  async restart(): Promise<void> {
    // While it was down, another process may have been handed its port for a moment (a port-0
    // probe like freePorts); it cannot move, since its clients know the url, so it waits a little.
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.launch();
      } catch (error) {
        if (!(error instanceof PortTaken) || attempt >= PORT_ATTEMPTS) throw error;
        await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
      }
    }
  }

  async healthy({ timeoutMs = READY_MS, assets = false }: HealthOptions = {}): Promise<void> {
    let last = 'no answer';
    await waitFor(
      async () => {
        if (!this.running) throw new Error(`nats-server on ${this.port} is not running: ${this.#log}`);
        const health = await monitorJson<{ status?: string; error?: string }>(this.monitorPort, assets ? '/healthz' : '/healthz?js-server-only=true', true);
        last = health === undefined ? 'no answer' : (health.error ?? health.status ?? 'no status');
        return health?.status === 'ok';
      },
      { timeoutMs, intervalMs: 50, what: `nats-server ${this.name} on port ${this.port} to be healthy (JetStream current)` },
    ).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}; its /healthz said: ${last}`, { cause: error });
    });
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.running) {
      this.#signal('SIGTERM');
      // A clean shutdown flushes the store; a server that hangs in it is killed.
      const hung = setTimeout(() => this.#signal('SIGKILL'), 5_000);
      await this.#exited;
      clearTimeout(hung);
    }
    if (this.spec.ownDir) rmSync(this.dir, { recursive: true, force: true });
  }
}

function requireBinary(): string {
  const binary = natsServerPath();
  if (!binary) throw new Error(natsServerMissing());
  return binary;
}

function tempStore(label: string): string {
  return mkdtempSync(join(tmpdir(), `streampy-nats-${label}-`));
}

/** One JetStream-enabled nats-server on loopback, on free ports, with a temporary store unless `dir` is given. */
export async function startNats(options: StartNatsOptions = {}): Promise<NatsHandle> {
  const binary = requireBinary();
  const dir = options.dir ?? tempStore('single');
  for (let attempt = 1; ; attempt++) {
    const [client = 0, monitor = 0] = await freePorts(2);
    const server = new NatsServer({ binary, ports: { client, monitor }, dir, ownDir: options.dir === undefined, name: 'n1', extra: [] });
    try {
      await server.launch();
      return server;
    } catch (error) {
      if (!(error instanceof PortTaken) || attempt >= PORT_ATTEMPTS) {
        await server.stop();
        throw error;
      }
    }
  }
}

/** `size` servers routed on loopback, one JetStream domain; resolves once a meta leader is elected and all are current. */
export async function startNatsCluster(size = 3): Promise<NatsClusterHandle> {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`cluster size must be a positive integer, got ${size}`);
  const binary = requireBinary();
  const name = `streampy-${process.pid}-${Date.now().toString(36)}`;
  for (let attempt = 1; ; attempt++) {
    const ports = await freePorts(size * 3);
    const routeUrls = Array.from({ length: size }, (_, i) => `nats://127.0.0.1:${ports[i * 3 + 2]}`);
    const servers = Array.from({ length: size }, (_, i) => {
      const own: Ports = { client: ports[i * 3] ?? 0, monitor: ports[i * 3 + 1] ?? 0, cluster: ports[i * 3 + 2] ?? 0 };
      const routes = routeUrls.filter((_, j) => j !== i).join(',');
      const extra = ['--cluster_name', name, ...(routes ? ['--routes', routes] : [])];
      return new NatsServer({ binary, ports: own, dir: tempStore(`n${i + 1}`), ownDir: true, name: `n${i + 1}`, extra });
    });
    const cluster = new NatsCluster(servers);
    try {
      await Promise.all(servers.map((server) => server.launch()));
      await cluster.healthy();
      return cluster;
    } catch (error) {
      await cluster.stop();
      if (!(error instanceof PortTaken) || attempt >= PORT_ATTEMPTS) throw error;
    }
  }
}

class NatsCluster implements NatsClusterHandle {
  readonly urls: readonly string[];
  readonly url: string;

  constructor(readonly servers: readonly NatsServer[]) {
    this.urls = servers.map((server) => server.url);
    this.url = this.urls.join(',');
  }

  async healthy(options: HealthOptions = {}): Promise<void> {
    await Promise.all(this.servers.filter((server) => server.running).map((server) => server.healthy(options)));
  }

  async streamLeader(name: string): Promise<NatsHandle | undefined> {
    const witness = this.servers.find((server) => server.running);
    if (!witness) return undefined;
    const detail = await monitorJson<Jsz>(witness.monitorPort, '/jsz?streams=true');
    const streams = detail?.account_details?.flatMap((account) => account.stream_detail ?? []) ?? [];
    const leader = streams.find((stream) => stream.name === name)?.cluster?.leader;
    return this.servers.find((server) => server.name === leader);
  }

  async stop(): Promise<void> {
    await Promise.all(this.servers.map((server) => server.stop()));
  }
}

/** The part of `/jsz?streams=true` that names stream leaders. */
interface Jsz {
  readonly account_details?: readonly { readonly stream_detail?: readonly { readonly name: string; readonly cluster?: { readonly leader?: string } }[] }[];
}
