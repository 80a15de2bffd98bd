export { formatHostPort, parseHostPort } from './address.js';
export type { HostPort } from './address.js';
export { LOG_LEVELS, createLogger, isLogLevel } from './logger.js';
export type { LogFields, LogLevel, Logger, LoggerOptions } from './logger.js';
export { UsageError, normalizeArgv, onShutdownSignal, runCli } from './cli.js';
