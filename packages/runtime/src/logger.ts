import { randomUUID } from 'node:crypto';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { safeFileNamePart } from './file-name.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

/** Where log lines go: process.stderr, a file stream, anything with `write` (typed here, not by Node's typings). */
export interface LogStream {
  write(line: string): unknown;
  readonly isTTY?: boolean;
}

export interface LoggerOptions {
  /** Logger name, e.g. `MQ.127.0.0.1-10000` as the prototype named them. */
  readonly name: string;
  readonly level?: LogLevel;
  /** `json` (one object per line) or `pretty` (the prototype's `<date> <time> <message>`). Default: pretty on a TTY. */
  readonly format?: 'json' | 'pretty';
  /** Where lines go; default stderr. */
  readonly stream?: LogStream;
  /** Also write JSON lines to `<dir>/<name>.<uuid>.log` (the name made safe by `safeFileNamePart`), one file per node as the prototype did. */
  readonly dir?: string;
}

export type LogFields = Readonly<Record<string, unknown>>;

export interface Logger {
  readonly name: string;
  readonly level: LogLevel;
  /** The log file, when `dir` was given. */
  readonly file: string | undefined;
  enabled(level: LogLevel): boolean;
  debug(event: string, fields?: LogFields): void;
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
  /** Flushes and closes the log file, if any. */
  close(): Promise<void>;
}

function prettyTime(date: Date): string {
  // The prototype's `<UTC date> <time with microseconds>`; JS clocks stop at milliseconds.
  return `${date.toISOString().slice(0, 10)} ${date.toISOString().slice(11, 23)}000`;
}

function prettyFields(fields: LogFields | undefined): string {
  if (!fields) return '';
  return Object.entries(fields)
    .map(([k, v]) => ` ${k}=${typeof v === 'string' ? (/\s/.test(v) ? JSON.stringify(v) : v) : JSON.stringify(v)}`)
    .join('');
}

/** A logger that drops everything: the default of libraries whose caller gave none, and of tests. */
export function silentLogger(name: string): Logger {
  const noop = (): void => {};
  return { name, level: 'error', file: undefined, enabled: () => false, debug: noop, info: noop, warn: noop, error: noop, close: () => Promise.resolve() };
}

/** A structured logger: one line per event, JSON or pretty, optionally mirrored to a file. */
export function createLogger(options: LoggerOptions): Logger {
  const level = options.level ?? 'info';
  const stream = options.stream ?? process.stderr;
  const format = options.format ?? (stream.isTTY === true ? 'pretty' : 'json');
  let file: string | undefined;
  let fileStream: WriteStream | undefined;
  if (options.dir !== undefined) {
    mkdirSync(options.dir, { recursive: true });
    // The name may hold an IPv6 address (`MQ.::1-10000`): made safe for every OS's file names.
    file = join(options.dir, `${safeFileNamePart(options.name)}.${randomUUID()}.log`);
    fileStream = createWriteStream(file, { flags: 'a' });
  }
  const write = (lvl: LogLevel, event: string, fields?: LogFields): void => {
    if (RANK[lvl] < RANK[level]) return;
    const now = new Date();
    const json = JSON.stringify({ time: now.toISOString(), level: lvl, logger: options.name, event, ...fields }) + '\n';
    stream.write(format === 'json' ? json : `${prettyTime(now)} ${lvl.toUpperCase().padEnd(5)} ${options.name} ${event}${prettyFields(fields)}\n`);
    fileStream?.write(json);
  };
  return {
    name: options.name,
    level,
    file,
    enabled: (lvl) => RANK[lvl] >= RANK[level],
    debug: (event, fields) => write('debug', event, fields),
    info: (event, fields) => write('info', event, fields),
    warn: (event, fields) => write('warn', event, fields),
    error: (event, fields) => write('error', event, fields),
    close: () =>
      new Promise<void>((resolve) => {
        if (!fileStream) return resolve();
        fileStream.end(() => resolve());
      }),
  };
}

export function isLogLevel(value: string): value is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(value);
}
