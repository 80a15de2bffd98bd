import { judge, runCheck, type CheckReport, type Verdict } from '@streampy/chaos';
import type { Logger } from '@streampy/runtime';
import type { Guarantee } from '@streampy/worker';
import { TopologyError } from './errors.js';
import { promisedGuarantee, sinksOf, sourcesOf } from './graph.js';
import type { RunningTopology } from './runner.js';

export interface TopologyCheckOptions {
  /** Numbered messages to feed the source. */
  readonly messages: number;
  /** The queue to feed; default the topology's one source (a queue no worker writes to). */
  readonly source?: string;
  /** The queue to drain; default its one sink (a queue no worker reads from). */
  readonly sink?: string;
  /**
   * With messages still missing, how long the sink must be quiet before they count as lost.
   * Default 5000: longer than a worker's restart, so a killed worker's messages are waited for.
   */
  readonly settleMs?: number;
  readonly deadlineMs?: number;
  readonly signal?: AbortSignal;
  readonly logger?: Logger;
}

export interface TopologyCheckResult {
  readonly source: string;
  readonly sink: string;
  /** The weakest guarantee of the worker inputs between source and sink. */
  readonly promised: Guarantee;
  readonly report: CheckReport;
  readonly verdict: Verdict;
}

function pick(what: 'source' | 'sink', given: string | undefined, found: readonly string[], all: readonly string[], hint: string): string {
  if (given !== undefined) {
    if (!all.includes(given)) throw new TopologyError('ERR_BAD_OPTION', `--check ${what}: no queue named "${given}"; queues: ${all.join(', ')}`);
    return given;
  }
  if (found.length === 1) return found[0] as string;
  throw new TopologyError(
    'ERR_BAD_OPTION',
    found.length === 0
      ? `--check needs a ${what} (${hint}); this topology has none`
      : `--check needs one ${what} (${hint}); this topology has ${found.length}: ${found.join(', ')}`,
  );
}

/**
 * Feeds `messages` numbered, checksummed messages into the topology's source and drains its
 * sink with the chaos checker (`@streampy/chaos` runCheck), then judges the report against
 * what the edges promised. The workers' functions must pass the check messages through
 * unchanged (passthrough, upper-free ones such as words do: a check message has no spaces).
 */
export async function checkTopology(running: RunningTopology, options: TopologyCheckOptions): Promise<TopologyCheckResult> {
  const { topology } = running;
  const all = topology.queues.map((queue) => queue.name);
  const source = pick('source', options.source, sourcesOf(topology), all, 'a queue no worker writes to');
  const sink = pick('sink', options.sink, sinksOf(topology), all, 'a queue no worker reads from');
  const promised = promisedGuarantee(topology, source);
  const report = await runCheck({
    source: running.queueAddress(source),
    sink: running.queueAddress(sink),
    messages: options.messages,
    settleMs: options.settleMs ?? 5_000,
    ...(topology.authKeyFile === undefined ? {} : { auth: topology.authKeyFile }),
    ...(options.deadlineMs === undefined ? {} : { deadlineMs: options.deadlineMs }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    ...(options.logger === undefined ? {} : { logger: options.logger }),
  });
  return { source, sink, promised, report, verdict: judge(promised, report) };
}
