#!/usr/bin/env node
import { choiceFlag, createLogger, integerFlag, logLevelFlag, onStopRequest, runCommand, UsageError, type CommandLine, type ParseArgsOptionsConfig } from '@streampy/runtime';
import { emptyRunProblem, runCheck, type CheckOptions } from './check.js';
import { formatCheckReport } from './report.js';
import { isGuarantee, judge } from './verdict.js';

const HELP = `Usage: streampy-check --source HOST:PORT --sink HOST:PORT --messages N [options]

Sends N numbered, checksummed messages into the source queue (idempotent keys, retried until
acknowledged), drains the sink queue, and reports what was lost, duplicated or corrupted.

Exit status: 0 the run checked something (and --expect held); 1 a node reported unreachable
at the start, the source acknowledged no message or nothing arrived at the sink (one line on
stderr says which), or --expect did not hold (the report says BROKEN); 2 usage error.

Options:
  --source HOST:PORT     queue node the messages go into (required)
  --sink HOST:PORT       queue node they are read from (required; may equal --source)
  --watch HOST:PORT      a queue node between them (repeatable): the run ends only once it
                         holds nothing either
  --messages N           how many messages (required)
  --payload-bytes N      filler bytes per message (default 16)
  --drain reserve|get    read the sink with lease+ack (default) or destructive GETs
  --lease-ms N           lease of the checker's reservations (default 3000)
  --timeout-ms N         wait per request attempt (default 300)
  --settle-ms N          with messages missing, stop after the sink is quiet this long (default 3000)
  --tail-ms N            with all messages in, keep draining until quiet this long (default 1000)
  --deadline-ms N        bound on the whole run (default 30000 + 10 per message)
  --run-id ID            tag of this run's messages (default random)
  --auth-key-file FILE   the nodes' shared key file: sign every request, check every reply
  --expect GUARANTEE     at-most-once|at-least-once|exactly-once: exit 1 unless its promise held
  --json                 print the report as one JSON line
  --log-level LEVEL      debug|info|warn|error (default warn; logs go to stderr)
  -h, --help             show this help
  -v, --version          print the version
`;

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Integer flags: CheckOptions field, smallest and largest value. */
const INTEGER_FLAGS = {
  'payload-bytes': ['payloadBytes', 0, 60_000],
  'lease-ms': ['leaseMs', 1, 3_600_000],
  'timeout-ms': ['timeoutMs', 1, 600_000],
  'settle-ms': ['settleMs', 0, 3_600_000],
  'tail-ms': ['tailMs', 0, 3_600_000],
  'deadline-ms': ['deadlineMs', 1, 86_400_000],
} as const satisfies Record<string, readonly [keyof CheckOptions, number, number]>;

const OPTIONS = {
  source: { type: 'string' },
  sink: { type: 'string' },
  watch: { type: 'string', multiple: true },
  messages: { type: 'string' },
  drain: { type: 'string' },
  'run-id': { type: 'string' },
  'auth-key-file': { type: 'string' },
  expect: { type: 'string' },
  json: { type: 'boolean' },
  'log-level': { type: 'string' },
  'payload-bytes': { type: 'string' },
  'lease-ms': { type: 'string' },
  'timeout-ms': { type: 'string' },
  'settle-ms': { type: 'string' },
  'tail-ms': { type: 'string' },
  'deadline-ms': { type: 'string' },
} as const satisfies ParseArgsOptionsConfig;

async function main({ values }: CommandLine<typeof OPTIONS>): Promise<number> {
  if (typeof values.source !== 'string') throw new UsageError('--source HOST:PORT is required');
  if (typeof values.sink !== 'string') throw new UsageError('--sink HOST:PORT is required');
  if (typeof values.messages !== 'string') throw new UsageError('--messages N is required');
  const drain = choiceFlag('drain', values.drain, ['reserve', 'get'] as const) ?? 'reserve';
  const expect = values.expect;
  if (typeof expect === 'string' && !isGuarantee(expect)) throw new UsageError(`--expect must be at-most-once, at-least-once or exactly-once, got "${expect}"`);
  const level = logLevelFlag('log-level', values['log-level'], 'warn');

  const abort = new AbortController();
  onStopRequest(() => abort.abort());
  const options: Mutable<CheckOptions> = {
    source: values.source,
    sink: values.sink,
    messages: integerFlag('messages', values.messages, 0, 10_000_000) as number,
    drain,
    signal: abort.signal,
    logger: createLogger({ name: 'Check', level }),
  };
  if (typeof values['run-id'] === 'string') options.runId = values['run-id'];
  if (typeof values['auth-key-file'] === 'string') options.auth = values['auth-key-file'];
  if (values.watch !== undefined) options.watch = values.watch;
  for (const [flag, [field, min, max]] of Object.entries(INTEGER_FLAGS) as [keyof typeof INTEGER_FLAGS, (typeof INTEGER_FLAGS)[keyof typeof INTEGER_FLAGS]][]) {
    const text = values[flag];
    const value = integerFlag(flag, text, min, max);
    if (value !== undefined) options[field] = value;
  }
  const report = await runCheck(options);
  const verdict = typeof expect === 'string' && isGuarantee(expect) ? judge(expect, report) : undefined;
  if (values.json) process.stdout.write(`${JSON.stringify(verdict === undefined ? report : { ...report, verdict })}\n`);
  else {
    process.stdout.write(formatCheckReport(report));
    if (verdict !== undefined) process.stdout.write(`${verdict.guarantee}: ${verdict.held ? 'HELD' : 'BROKEN'} (${verdict.promise}; ${verdict.detail})\n`);
  }
  const problem = emptyRunProblem(report, values.source, values.sink);
  if (problem !== undefined) {
    process.stderr.write(`streampy-check: ${problem}\n`);
    return 1;
  }
  return verdict === undefined || verdict.held ? 0 : 1;
}

runCommand({ program: 'streampy-check', help: HELP, packageJson: new URL('../package.json', import.meta.url), options: OPTIONS }, main);
