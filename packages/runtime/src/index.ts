export { formatHostPort, parseHostPort } from './address.js';
export type { HostPort } from './address.js';
export { LOG_LEVELS, createLogger, isLogLevel } from './logger.js';
export type { LogFields, LogLevel, Logger, LoggerOptions } from './logger.js';
export { UsageError, integerFlag, normalizeArgv, onShutdownSignal, packageVersion, runCli } from './cli.js';
export { systemClock } from './clock.js';
export type { Clock, TimerHandle, TimerOptions } from './clock.js';
export { deriveSeed, seededRandom } from './random.js';
export type { Random } from './random.js';
