#!/usr/bin/env node
import { createLogger, formatHostPort, integerFlag, logLevelFlag, onStopRequest, runCommand, UsageError, type CommandLine, type ParseArgsOptionsConfig } from '@streampy/runtime';
import { faultFlagOptions, faultSpecsFromFlags } from './cli-common.js';
import { describeFaults } from './faults.js';
import { createFaultProxy } from './proxy.js';
import { formatProxyStats } from './report.js';

const HELP = `Usage: streampy-proxy --target HOST:PORT [options]

A UDP proxy that injects faults between clients and a streampy node. Point clients at the
proxy's address instead of the node's.

Options:
  --listen HOST:PORT     where to listen (default 127.0.0.1:0: the OS picks a port)
  --target HOST:PORT     the node to forward to (required)
  --drop P               drop each datagram with probability P (0..1)
  --dup P                send each datagram twice with probability P
  --reorder P            hold a datagram back until after the next one, with probability P
  --delay MS|MIN-MAX     delay each datagram by MS, or uniformly MIN..MAX ms
  --corrupt P            flip one random byte of a datagram with probability P
  --<fault>-to-target, --<fault>-to-client
                         the same, for one direction only (overrides the flag above)
  --seed N               seed of the fault decisions (default: random, logged)
  --max-sessions N       client sessions kept at once (default 1024)
  --json                 print the final counts as one JSON line
  --log-level LEVEL      debug|info|warn|error (default info; logs go to stderr)
  -h, --help             show this help
  -v, --version          print the version

The proxy needs no key in front of a node with --auth-key-file: it forwards datagrams as they
are, so the node checks the clients' signatures and the clients the node's. A datagram it
duplicates is refused by the node as a replay (no reply), as a real network's duplicate would
be; one it corrupts fails its MAC. Start the node with --allow covering the proxy's address.

Prints "streampy-proxy listening on <addr> -> <target>" when ready; on SIGINT, SIGTERM or the IPC
stop message ({"type":"streampy:stop"}, from a parent that started it with an IPC channel) it
prints the counts of each direction and exits 0.
`;

const OPTIONS = {
  listen: { type: 'string' },
  target: { type: 'string' },
  seed: { type: 'string' },
  'max-sessions': { type: 'string' },
  json: { type: 'boolean' },
  'log-level': { type: 'string' },
  ...faultFlagOptions(),
} as const satisfies ParseArgsOptionsConfig;

async function main({ values }: CommandLine<typeof OPTIONS>): Promise<number> {
  if (typeof values.target !== 'string') throw new UsageError('--target HOST:PORT is required');
  const level = logLevelFlag('log-level', values['log-level'], 'info');
  const { toTarget, toClient } = faultSpecsFromFlags(values);
  const seed = integerFlag('seed', values.seed, 0, 2 ** 32 - 1);
  const maxSessions = integerFlag('max-sessions', values['max-sessions'], 1, 1_000_000);
  const listen = typeof values.listen === 'string' ? values.listen : '127.0.0.1:0';
  const logger = createLogger({ name: `Proxy.${listen.replace(/:(?=\d+$)/, '-')}`, level });

  const proxy = await createFaultProxy({
    listen,
    target: values.target,
    toTarget,
    toClient,
    logger,
    ...(seed === undefined ? {} : { seed }),
    ...(maxSessions === undefined ? {} : { maxSessions }),
  });
  logger.info('faults', { toTarget: describeFaults(toTarget), toClient: describeFaults(toClient), seed: proxy.seed });
  process.stdout.write(`streampy-proxy listening on ${formatHostPort(proxy.address)} -> ${formatHostPort(proxy.target)}\n`);

  await new Promise<void>((resolveStop) => {
    onStopRequest((reason) => {
      logger.info('stopping', { reason });
      resolveStop();
    });
  });
  await proxy.close();
  const stats = proxy.stats();
  const report = { listen: formatHostPort(proxy.address), target: formatHostPort(proxy.target), seed: proxy.seed, ...stats };
  process.stdout.write(values.json ? `${JSON.stringify(report)}\n` : formatProxyStats({ [formatHostPort(proxy.address)]: stats }));
  await logger.close();
  return 0;
}

runCommand({ program: 'streampy-proxy', help: HELP, packageJson: new URL('../package.json', import.meta.url), options: OPTIONS }, main);
