#!/usr/bin/env node
import { describeFaults } from '@streampy/chaos';
import { UsageError, createLogger, integerFlag, logLevelFlag, onStopRequest, runCommand, type CommandLine, type ParseArgsOptionsConfig } from '@streampy/runtime';
import { checkTopology, type TopologyCheckResult } from './check.js';
import { TopologyError } from './errors.js';
import { loadTopology } from './file.js';
import { guardChildren } from './guard.js';
import type { Topology } from './model.js';
import { startTopology, type ReadyInfo } from './runner.js';
import { topologySchema } from './schema.js';
import type { TopologySummary } from './summary.js';

const PROGRAM = 'streampy-run';

const HELP = `Usage: ${PROGRAM} FILE [options]

Runs the topology in FILE (YAML or JSON): every queue node, worker and fault proxy it names, each
a process, restarted with backoff when it exits unasked. Stops on SIGINT/SIGTERM or the IPC stop
message {"type":"streampy:stop"} (workers first, so the messages in hand are finished, then proxies,
then queues; each child is asked with that message, so this works on every OS), or after --duration.

Options:
  --json                 print one "ready" and one "summary" JSON line on stdout
  --duration S           stop after S seconds
  --check N              feed N numbered messages to the source queue, drain the sink, report
                         lost, duplicated and corrupted, then stop; exit 1 when the edges'
                         guarantees promised better
  --check-source Q       the queue --check feeds (default: the one no worker writes to)
  --check-sink Q         the queue --check drains (default: the one no worker reads from)
  --check-settle-ms N    with messages missing, how long the sink must stay quiet before they
                         count as lost (default 5000: longer than a restart)
  --web HOST:PORT        serve the live view of the topology (port 0: the OS picks)
  --validate             check FILE and exit: 0 when it is right, 2 listing its problems
  --schema               print the JSON Schema of the file format and exit
  --log-level LEVEL      the runner's log on stderr: debug, info (default), warn or error
  --child-log-level L    log level of processes whose file entry sets none (default warn)
  --ready-timeout-ms N   how long each process may take to be ready (default 20000)
  -h, --help             show this help
  -v, --version          print the version

The file format: see the README of @streampy/topology, or --schema.
Exit status: 0 done, 1 a failure (or a --check the guarantees did not hold), 2 usage or file errors.
`;

const OPTIONS = {
  json: { type: 'boolean' },
  duration: { type: 'string' },
  check: { type: 'string' },
  'check-source': { type: 'string' },
  'check-sink': { type: 'string' },
  'check-settle-ms': { type: 'string' },
  web: { type: 'string' },
  validate: { type: 'boolean' },
  schema: { type: 'boolean' },
  'log-level': { type: 'string' },
  'child-log-level': { type: 'string' },
  'ready-timeout-ms': { type: 'string' },
} as const satisfies ParseArgsOptionsConfig;

function seconds(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value <= 0 || value > 365 * 86_400) throw new UsageError(`--duration must be a number of seconds > 0, got "${text}"`);
  return value;
}

function readyLines(topology: Topology, ready: ReadyInfo, web: string | null, startMs: number): string[] {
  const lines = [`${PROGRAM}: ${topology.name} ready in ${((performance.now() - startMs) / 1000).toFixed(1)} s`];
  for (const [name, queue] of Object.entries(ready.queues)) {
    lines.push(`  queue  ${name}  ${queue.address}  pid ${queue.pid ?? '-'}${queue.metrics === null ? '' : `  ${queue.metrics}`}`);
  }
  for (const fault of topology.faults) {
    const proxy = ready.proxies[fault.edge];
    const spec = describeFaults({ drop: fault.drop, duplicate: fault.dup, reorder: fault.reorder, delayMs: fault.delayMs, corrupt: fault.corrupt });
    lines.push(`  proxy  ${fault.edge}  ${proxy?.address ?? '-'} -> ${proxy?.target ?? '-'}  pid ${proxy?.pid ?? '-'}  ${spec}`);
  }
  for (const [name, replicas] of Object.entries(ready.workers)) {
    lines.push(`  worker ${name}  pid ${replicas.map((replica) => replica.pid ?? '-').join(', ')}${replicas.some((replica) => replica.metrics !== null) ? `  ${replicas.map((replica) => replica.metrics).join(' ')}` : ''}`);
  }
  if (web !== null) lines.push(`  web    ${web}`);
  return lines;
}

function summaryLines(summary: TopologySummary, check: TopologyCheckResult | undefined): string[] {
  const lines = [`${PROGRAM}: ${summary.name} stopped after ${summary.seconds.toFixed(1)} s; ${summary.restarts} restart${summary.restarts === 1 ? '' : 's'}${summary.failed.length > 0 ? `; failed: ${summary.failed.join(', ')}` : ''}`];
  for (const [name, queue] of Object.entries(summary.queues)) {
    lines.push(`  queue  ${name}: ${queue.ready} ready, ${queue.leased} leased, ${queue.deadLetters} dead letters; ${queue.puts} puts, ${queue.gets + queue.acks} taken, ${queue.duplicates} duplicates dropped`);
  }
  for (const [name, replicas] of Object.entries(summary.workers)) {
    const total = (field: 'processed' | 'rejected' | 'sent') => replicas.reduce((sum, replica) => sum + replica[field], 0);
    lines.push(`  worker ${name}: ${replicas.length} replica${replicas.length === 1 ? '' : 's'}; processed ${total('processed')}, rejected ${total('rejected')}, sent ${total('sent')}`);
  }
  for (const [edge, proxy] of Object.entries(summary.proxies)) {
    const both = (field: 'dropped' | 'duplicated' | 'reordered') => proxy.toTarget[field] + proxy.toClient[field];
    lines.push(`  proxy  ${edge}: ${both('dropped')} dropped, ${both('duplicated')} duplicated, ${both('reordered')} reordered`);
  }
  if (check !== undefined) {
    const { report, verdict } = check;
    lines.push(
      `check ${check.source} -> ${check.sink}: ${report.sent}/${report.messages} sent, ${report.unique} arrived; lost ${report.lost}, duplicated ${report.duplicated}, corrupted ${report.corrupted} (${report.seconds.toFixed(1)} s)`,
      `check: ${verdict.guarantee} ${verdict.held ? 'held' : 'NOT held'}: ${verdict.promise}`,
    );
  }
  return lines;
}

async function main({ values, positionals }: CommandLine<typeof OPTIONS>): Promise<number> {
  if (values.schema) {
    process.stdout.write(`${JSON.stringify(topologySchema(), null, 2)}\n`);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'give the topology FILE' : `expected one FILE, got ${positionals.length} arguments`);
  const durationSeconds = seconds(values.duration);
  const checkMessages = integerFlag('check', values.check, 1, 10_000_000);
  const settleMs = integerFlag('check-settle-ms', values['check-settle-ms'], 0, 3_600_000);
  const readyTimeoutMs = integerFlag('ready-timeout-ms', values['ready-timeout-ms'], 1);
  const logLevel = logLevelFlag('log-level', values['log-level'], 'info');
  const childLogLevel = logLevelFlag('child-log-level', values['child-log-level'], 'warn');
  if (checkMessages === undefined && (values['check-source'] !== undefined || values['check-sink'] !== undefined)) throw new UsageError('--check-source and --check-sink need --check N');

  let topology: Topology;
  try {
    topology = await loadTopology(positionals[0] as string);
  } catch (error) {
    // A wrong file is a usage error: every problem on its own line, exit 2.
    if (error instanceof TopologyError && error.code === 'ERR_BAD_OPTION') throw new UsageError(error.message);
    throw error;
  }
  if (values.validate) {
    process.stdout.write(`${positionals[0]}: ok (${topology.queues.length} queues, ${topology.workers.length} workers, ${topology.faults.length} faulty edges)\n`);
    return 0;
  }

  const logger = createLogger({ name: PROGRAM, level: logLevel });
  const track = guardChildren(PROGRAM);
  const stopper = new AbortController();
  const removeStopHandlers = onStopRequest((reason) => {
    logger.info('stopping', { reason });
    stopper.abort();
  });
  const startMs = performance.now();
  try {
    const running = await startTopology(topology, {
      logger,
      childLogLevel,
      track,
      initialMessages: checkMessages === undefined,
      ...(readyTimeoutMs === undefined ? {} : { readyTimeoutMs }),
    });
    let web: { url: string; close(): Promise<void> } | undefined;
    let check: TopologyCheckResult | undefined;
    let summary: TopologySummary;
    try {
      if (values.web !== undefined) {
        const { startWebView } = await import('./web/server.js');
        web = await startWebView({ address: values.web, source: running.snapshots });
      }
      const ready = running.ready();
      process.stdout.write(
        values.json
          ? `${JSON.stringify({ event: 'ready', name: topology.name, ...ready, web: web?.url ?? null })}\n`
          : `${readyLines(topology, ready, web?.url ?? null, startMs).join('\n')}\n`,
      );
      const timer = durationSeconds === undefined ? undefined : setTimeout(() => stopper.abort(), durationSeconds * 1000);
      try {
        if (checkMessages !== undefined && !stopper.signal.aborted) {
          check = await checkTopology(running, {
            messages: checkMessages,
            signal: stopper.signal,
            logger,
            ...(values['check-source'] === undefined ? {} : { source: values['check-source'] }),
            ...(values['check-sink'] === undefined ? {} : { sink: values['check-sink'] }),
            ...(settleMs === undefined ? {} : { settleMs }),
          });
        } else if (!stopper.signal.aborted) {
          await new Promise<void>((resolve) => stopper.signal.addEventListener('abort', () => resolve(), { once: true }));
        }
      } finally {
        clearTimeout(timer);
      }
    } finally {
      summary = await running.stop();
      await web?.close();
    }
    process.stdout.write(
      values.json
        ? `${JSON.stringify({ event: 'summary', ...summary, check: check === undefined ? null : { source: check.source, sink: check.sink, promised: check.promised, held: check.verdict.held, ...check.report } })}\n`
        : `${summaryLines(summary, check).join('\n')}\n`,
    );
    return check !== undefined && !check.verdict.held ? 1 : summary.failed.length > 0 ? 1 : 0;
  } finally {
    removeStopHandlers();
    await logger.close();
  }
}

runCommand({ program: PROGRAM, help: HELP, packageJson: new URL('../package.json', import.meta.url), positionals: true, options: OPTIONS }, main);
