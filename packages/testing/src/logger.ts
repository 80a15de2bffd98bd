import { silentLogger as runtimeSilentLogger, type LogFields, type LogLevel, type Logger } from '@streampy/runtime';

/** A logger that drops everything: for nodes, clients and workers under test (runtime's, named `test` by default). */
export function silentLogger(name = 'test'): Logger {
  return runtimeSilentLogger(name);
}

export interface LogRecord {
  readonly level: LogLevel;
  readonly event: string;
  readonly fields: LogFields;
}

/** A logger that keeps every line, for tests that check what was logged. */
export interface RecordingLogger extends Logger {
  readonly records: LogRecord[];
  /** The records at `level`, or with `event`. */
  find(filter: { readonly level?: LogLevel; readonly event?: string }): LogRecord[];
}

/** A logger recording every line at `level` or above (default debug, so `enabled('debug')` is true). */
export function recordingLogger(level: LogLevel = 'debug', name = 'test'): RecordingLogger {
  const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
  const records: LogRecord[] = [];
  const write =
    (at: LogLevel) =>
    (event: string, fields: LogFields = {}): void => {
      if (rank[at] >= rank[level]) records.push({ level: at, event, fields });
    };
  return {
    name,
    level,
    file: undefined,
    records,
    enabled: (at) => rank[at] >= rank[level],
    debug: write('debug'),
    info: write('info'),
    warn: write('warn'),
    error: write('error'),
    close: () => Promise.resolve(),
    find: (filter) => records.filter((r) => (filter.level === undefined || r.level === filter.level) && (filter.event === undefined || r.event === filter.event)),
  };
}
