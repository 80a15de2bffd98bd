import { ChaosError, parseDelay, parseProbability, type FaultSpec } from '@streampy/chaos';
import { UsageError, choiceFlag, hostPortFlag, parseCommandLine, type ParseArgsOptionsConfig } from '@streampy/runtime';
import { GUARANTEES, type Guarantee } from '@streampy/worker';

/** Applied to both directions between worker and queue; every field present, so the summary always shows all four. */
export interface Faults extends FaultSpec {
  readonly drop: number;
  readonly duplicate: number;
  readonly reorder: number;
  readonly delayMs: number | readonly [number, number];
}

export interface DemoOptions {
  readonly balls: number;
  /** Seconds to run; undefined runs until SIGINT/SIGTERM. */
  readonly durationSeconds: number | undefined;
  readonly json: boolean;
  readonly guarantee: Guarantee;
  readonly faults: Faults;
  /** Seed of the fault proxy's random choices, for repeatable runs. */
  readonly seed: number | undefined;
  readonly leaseMs: number;
  /** A shared key file: the queue node, the worker and the demo's own client authenticate with it. */
  readonly authKeyFile: string | undefined;
  /** Where to serve the live web view (`host:port`, port 0 any); undefined: no web view. */
  readonly web: string | undefined;
}

export type Command = { readonly kind: 'help' } | { readonly kind: 'version' } | { readonly kind: 'run'; readonly options: DemoOptions };

export const HELP = `Usage: pong-demo [options]

The stream-py pong game on streampy: a queue node and a pong worker in a self-loop,
N balls (ping <-> pong) bouncing through them, shown live.

Options:
  --balls N            balls to seed (default 1, at most 1000)
  --duration S         stop after S seconds (default: run until Ctrl-C)
  --json               no live view; print one JSON summary on stdout at the end
  --guarantee G        at-most-once | at-least-once | exactly-once (default at-least-once)
  --drop P             probability of dropping a datagram between worker and queue (0..1)
  --dup P              probability of duplicating a datagram (0..1)
  --reorder P          probability of holding a datagram back behind the next one (0..1)
  --delay MS           delay every datagram by MS milliseconds (or MIN-MAX, e.g. 0-5)
  --seed S             seed for the fault proxy's random choices (integer)
  --lease-ms N         lease of a reserved ball before it is redelivered (default 1000)
  --web HOST:PORT      also serve the live web view of the topology (port 0: any free port)
  --auth-key-file FILE every datagram signed with the key in FILE (queue node, worker, demo)
  -h, --help           show this help
  -v, --version        print the version

The game is pong.yaml (beside this package) run by @streampy/topology. With any fault flag the
worker talks to the queue through a fault proxy process on each edge of the loop.
Exit status: 0 the run completed, 1 failure, 2 usage error.
`;

const DEFAULT_LEASE_MS = 1000;
const MAX_BALLS = 1000;
/** The protocol caps a lease at one day. */
const MAX_LEASE_MS = 86_400_000;

function number(flag: string, text: string | undefined, min: number, max: number, integer: boolean): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || (integer && !Number.isInteger(value)) || value < min || value > max) {
    throw new UsageError(`--${flag} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, got "${text}"`);
  }
  return value;
}

/** The fault parsers of @streampy/chaos, with their errors as usage errors (exit 2). */
function fault<T>(parse: (name: string, text: string) => T, flag: string, text: string | undefined, absent: T): T {
  if (text === undefined) return absent;
  try {
    return parse(`--${flag}`, text);
  } catch (error) {
    if (error instanceof ChaosError) throw new UsageError(error.message);
    throw error;
  }
}

/** `--web` as given, once it reads as an address. */
function webAddress(text: string | undefined): string | undefined {
  hostPortFlag('web', text);
  return text;
}

const OPTIONS = {
  balls: { type: 'string' },
  duration: { type: 'string' },
  json: { type: 'boolean' },
  guarantee: { type: 'string' },
  drop: { type: 'string' },
  dup: { type: 'string' },
  reorder: { type: 'string' },
  delay: { type: 'string' },
  seed: { type: 'string' },
  'lease-ms': { type: 'string' },
  'auth-key-file': { type: 'string' },
  web: { type: 'string' },
} as const satisfies ParseArgsOptionsConfig;

/** Reads the command line (pnpm's leading `--` included); throws UsageError on bad input. */
export function parseCommand(argv: readonly string[]): Command {
  const { values } = parseCommandLine(argv, { options: OPTIONS });
  if (values.help === true) return { kind: 'help' };
  if (values.version === true) return { kind: 'version' };
  const guarantee: Guarantee = choiceFlag('guarantee', values.guarantee, GUARANTEES) ?? 'at-least-once';
  return {
    kind: 'run',
    options: {
      balls: number('balls', values.balls, 1, MAX_BALLS, true) ?? 1,
      durationSeconds: number('duration', values.duration, 0.1, 365 * 86_400, false),
      json: values.json === true,
      guarantee,
      faults: {
        drop: fault(parseProbability, 'drop', values.drop, 0),
        duplicate: fault(parseProbability, 'dup', values.dup, 0),
        reorder: fault(parseProbability, 'reorder', values.reorder, 0),
        delayMs: fault(parseDelay, 'delay', values.delay, 0),
      },
      seed: number('seed', values.seed, 0, Number.MAX_SAFE_INTEGER, true),
      leaseMs: number('lease-ms', values['lease-ms'], 1, MAX_LEASE_MS, true) ?? DEFAULT_LEASE_MS,
      web: webAddress(values.web),
      authKeyFile: values['auth-key-file'],
    },
  };
}

