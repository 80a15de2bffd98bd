#!/usr/bin/env node
import {
  UsageError,
  choiceFlag,
  createLogger,
  hostPortFlag,
  integerFlag,
  logLevelFlag,
  onStopRequest,
  parseHostPort,
  runCommand,
  startMetricsServer,
  type CommandLine,
  type ParseArgsOptionsConfig,
} from '@streampy/runtime';
import { WorkerError } from './errors.js';
import { loadWorkerFunction } from './load.js';
import { newWorkerHistograms, workerMetrics } from './metrics.js';
import { GUARANTEES, splitQueue, type Endpoint, type Guarantee } from './options.js';
import { createWorker } from './worker.js';

const PROGRAM = 'streampy-worker';

const HELP = `Usage: ${PROGRAM} [<in host:port> <out host:port>] [options]

Reads messages from queue nodes, applies a function and puts its results on other queues.

Addresses take an optional queue name: 127.0.0.1:9000/jobs (default: the node's default queue).

Options:
  --input-address ADDR    a queue to read (repeatable; several are polled round-robin)
  --input-id ID           the storage identity of each input, in --input-address order, for
                          exactly-once keys: give inputs that are one NATS JetStream queue behind
                          several nodes the same ID (default: the input's address and queue)
  --output-address ADDR   where results go (repeatable; [choice, message] picks one)
  --function NAME|PATH    built-in (pong, passthrough, upper, double, words) or a module
                          path such as ./fn.mjs, resolved from the current directory (default pong)
  --export NAME           the module export to use (default: the default export, else the
                          module's only exported function)
  --output-type TYPE      queue (default) or socket (raw payload to a plain UDP listener)
  --route ROUTE           function (default) or random
  --seed N                seed of the random route, for a repeatable run
  --guarantee G[,G...]    at-most-once, at-least-once or exactly-once, one for all inputs or one
                          per input (default at-least-once; at-most-once with --protocol seed)
  --lease-ms N            lease of a reserved message (default 30000; extended while processing)
  --concurrency N         messages in flight at once (default 2)
  --batch N               messages per GET/RESERVE (default 32; 1 with --protocol seed)
  --idle-min-ms N         first polling pause when the inputs are empty (default 1)
  --idle-max-ms N         longest polling pause (default 100)
  --timeout-ms N          request timeout (client default)
  --stop-timeout-ms N     after a stop request, how long to wait for the message in hand to be
                          put and acked before exiting anyway (default 15000; unacked leases
                          are then redelivered by the queue node, so only at-most-once loses it)
  --retries N             retries of a request after a timeout (client default)
  --protocol P            extended (default) or seed (the original prototype's queue node)
  --auth-key-file FILE    sign every datagram and check every reply with the keys in FILE
                          ("<key id> <64 hex digits>" per line; the first signs)
  --log-level LEVEL       debug, info (default), warn or error
  --log-format FORMAT     json or pretty (default: pretty on a terminal)
  --log-dir DIR           also write JSON logs to DIR/<logger name>.<uuid>.log
  --metrics-address HOST:PORT
                          serve Prometheus metrics at http://HOST:PORT/metrics (port 0: the OS picks)
  --json                  print the ready line and the final summary as JSON
  -h, --help              show this help
  -v, --version           print the version

Stops on SIGINT/SIGTERM, or on the IPC message {"type":"streampy:stop"} from a parent that started it
with an IPC channel (every OS; also when that parent goes away), after finishing the messages in hand;
exit 0, 1 on failure, 2 on usage errors.

Example (the prototype's pong game, one queue node, one ball):
  streampy-mq --address 127.0.0.1:10000 &
  streampy-client 127.0.0.1:10000 PUT:ping
  ${PROGRAM} 127.0.0.1:10000 127.0.0.1:10000 --function pong
`;



/** Leaves out what the user did not give: with exactOptionalPropertyTypes, absent and undefined differ. */
/** An input address with its --input-id, as the library's Endpoint object. */
function withId(text: string, id: string): Endpoint {
  const { address, queue } = splitQueue(text);
  return queue === undefined ? { address, id } : { address, queue, id };
}

function compact<T extends Record<string, unknown>>(fields: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) as { [K in keyof T]?: Exclude<T[K], undefined> };
}

/** `host-port` of an address for the prototype's logger name, without any queue suffix. */
function loggerPart(address: string): string {
  const { host, port } = parseHostPort(address.replace(/\/[^/]*$/, ''));
  return `${host}-${port}`;
}

const OPTIONS = {
  'input-address': { type: 'string', multiple: true },
  'input-id': { type: 'string', multiple: true },
  'output-address': { type: 'string', multiple: true },
  function: { type: 'string' },
  export: { type: 'string' },
  'output-type': { type: 'string' },
  route: { type: 'string' },
  seed: { type: 'string' },
  guarantee: { type: 'string', multiple: true },
  'lease-ms': { type: 'string' },
  concurrency: { type: 'string' },
  batch: { type: 'string' },
  'idle-min-ms': { type: 'string' },
  'idle-max-ms': { type: 'string' },
  'timeout-ms': { type: 'string' },
  'stop-timeout-ms': { type: 'string' },
  retries: { type: 'string' },
  protocol: { type: 'string' },
  'auth-key-file': { type: 'string' },
  'log-level': { type: 'string' },
  'log-format': { type: 'string' },
  'log-dir': { type: 'string' },
  'metrics-address': { type: 'string' },
  json: { type: 'boolean' },
} as const satisfies ParseArgsOptionsConfig;

async function main({ values, positionals }: CommandLine<typeof OPTIONS>): Promise<number> {
  if (positionals.length !== 0 && positionals.length !== 2) {
    throw new UsageError(`expected <in host:port> <out host:port>, got ${positionals.length} positional argument${positionals.length === 1 ? '' : 's'}`);
  }
  const inputs = [...(positionals[0] === undefined ? [] : [positionals[0]]), ...(values['input-address'] ?? [])];
  const outputs = [...(positionals[1] === undefined ? [] : [positionals[1]]), ...(values['output-address'] ?? [])];
  if (inputs.length === 0) throw new UsageError('no input: give <in host:port> <out host:port> or --input-address');
  if (outputs.length === 0) throw new UsageError('no output: give <in host:port> <out host:port> or --output-address');
  for (const address of [...inputs, ...outputs]) {
    try {
      loggerPart(address);
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
  }
  const ids = values['input-id'] ?? [];
  if (ids.length > 0 && ids.length !== inputs.length) {
    throw new UsageError(`--input-id: give one per input (${inputs.length}), got ${ids.length}`);
  }
  const guarantees = (values.guarantee ?? []).flatMap((text) => text.split(',')).map((text) => choiceFlag('guarantee', text, GUARANTEES) as Guarantee);
  if (guarantees.length > 1 && guarantees.length !== inputs.length) {
    throw new UsageError(`--guarantee: give one for all inputs or one per input (${inputs.length}), got ${guarantees.length}`);
  }
  const logLevel = logLevelFlag('log-level', values['log-level'], 'info');
  const logFormat = choiceFlag('log-format', values['log-format'], ['json', 'pretty'] as const);

  let loaded;
  const exportName = values.export;
  try {
    loaded = await loadWorkerFunction(values.function ?? 'pong', exportName === undefined ? {} : { exportName });
  } catch (error) {
    if (error instanceof WorkerError) throw new UsageError(error.message);
    throw error;
  }

  const logger = createLogger({
    name: `${loaded.name}.${loggerPart(inputs[0] as string)}.${loggerPart(outputs[0] as string)}`,
    level: logLevel,
    ...(logFormat === undefined ? {} : { format: logFormat }),
    ...(values['log-dir'] === undefined ? {} : { dir: values['log-dir'] }),
  });

  const protocol = choiceFlag('protocol', values.protocol, ['extended', 'seed'] as const);
  const metricsAddress = values['metrics-address'];
  hostPortFlag('metrics-address', metricsAddress);
  const histograms = metricsAddress === undefined ? undefined : newWorkerHistograms();
  let worker;
  try {
    worker = createWorker({
      inputs: ids.length === 0 ? inputs : inputs.map((text, index) => withId(text, ids[index] as string)),
      outputs,
      fn: loaded.fn,
      name: loaded.name,
      logger,
      idle: compact({ minMs: integerFlag('idle-min-ms', values['idle-min-ms'], 0), maxMs: integerFlag('idle-max-ms', values['idle-max-ms'], 0) }),
      ...compact({
        outputType: choiceFlag('output-type', values['output-type'], ['queue', 'socket'] as const),
        route: choiceFlag('route', values.route, ['function', 'random'] as const),
        seed: integerFlag('seed', values.seed, Number.MIN_SAFE_INTEGER),
        guarantee: guarantees.length === 0 ? undefined : guarantees.length === 1 ? guarantees[0] : guarantees,
        leaseMs: integerFlag('lease-ms', values['lease-ms'], 1),
        concurrency: integerFlag('concurrency', values.concurrency, 1),
        batch: integerFlag('batch', values.batch, 1),
        timeoutMs: integerFlag('timeout-ms', values['timeout-ms'], 1),
        retries: integerFlag('retries', values.retries, 0),
        protocol,
        auth: values['auth-key-file'],
        histograms,
      }),
    });
  } catch (error) {
    if (error instanceof WorkerError) throw new UsageError(error.message);
    throw error;
  }
  await worker.start();
  const running = worker;
  const metrics =
    metricsAddress === undefined || histograms === undefined ? undefined : await startMetricsServer({ address: metricsAddress, metrics: workerMetrics(() => running.stats(), histograms) });
  const guarantee = guarantees.length === 0 ? (protocol === 'seed' ? 'at-most-once' : 'at-least-once') : guarantees.join(', ');
  process.stdout.write(
    values.json
      ? `${JSON.stringify({ event: 'running', function: loaded.name, inputs, outputs, guarantee, pid: process.pid, ...(metrics === undefined ? {} : { metrics: metrics.url }) })}\n`
      : `${PROGRAM} ${loaded.name} running: ${inputs.join(', ')} -> ${outputs.join(', ')} (${guarantee})${metrics === undefined ? '' : ` metrics ${metrics.url}`}\n`,
  );
  const stopTimeoutMs = integerFlag('stop-timeout-ms', values['stop-timeout-ms'], 0) ?? 15_000;
  let stopDeadline: NodeJS.Timeout | undefined;
  let deadlinePassed = false;
  const removeHandlers = onStopRequest((reason) => {
    logger.info('stopping', { reason });
    void worker.stop();
    // A clean stop waits for the message in hand, but not forever: with its queue node gone
    // the put would be retried without end. Its lease, unacked, brings it back instead.
    stopDeadline = setTimeout(() => {
      deadlinePassed = true;
      logger.warn('stop deadline passed; messages in hand are left to their leases', { stopTimeoutMs, ...worker.stats() });
      void logger.close().then(() => process.exit(1));
    }, stopTimeoutMs);
    stopDeadline.unref();
  });
  try {
    await worker.done;
  } finally {
    clearTimeout(stopDeadline);
    removeHandlers();
    await metrics?.close();
    await logger.close();
  }
  if (deadlinePassed) return 1;
  const stats = worker.stats();
  process.stdout.write(
    values.json
      ? `${JSON.stringify({ event: 'stopped', function: loaded.name, ...stats })}\n`
      : `${PROGRAM} ${loaded.name} stopped: processed=${stats.processed} rejected=${stats.rejected} sent=${stats.sent} dropped=${stats.dropped} timeouts=${stats.timeouts} backoffs=${stats.backoffs}\n`,
  );
  return 0;
}

runCommand({ program: PROGRAM, help: HELP, packageJson: new URL('../package.json', import.meta.url), positionals: true, options: OPTIONS }, main);
