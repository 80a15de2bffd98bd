import { readFileSync } from 'node:fs';

/**
 * pnpm 12 forwards a literal `--` to scripts (`pnpm start -- --json` gives `["--", "--json"]`)
 * and `parseArgs` would read everything after it as positionals: drop one leading `--`.
 */
export function normalizeArgv(argv: readonly string[]): string[] {
  return argv[0] === '--' ? argv.slice(1) : [...argv];
}

/** Thrown for bad command lines: the CLI prints the message and exits with status 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/**
 * Runs a CLI's main function with the exit-code convention of every streampy CLI:
 * 0 success, 1 failure, 2 usage error; errors as one line on stderr.
 */
export function runCli(program: string, main: () => Promise<number | void>): void {
  main().then(
    (code) => {
      if (typeof code === 'number') process.exitCode = code;
    },
    (error: unknown) => {
      const usage = error instanceof UsageError || (error instanceof TypeError && (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS'));
      const message = error instanceof Error ? error.message : String(error);
      process.stderr.write(`${program}: ${message}${usage ? `\nTry '${program} --help'.` : ''}\n`);
      process.exitCode = usage ? 2 : 1;
    },
  );
}

/**
 * Calls `stop` once on the first SIGINT or SIGTERM; a second signal exits at once.
 * Returns a function that removes the handlers.
 */
export function onShutdownSignal(stop: (signal: NodeJS.Signals) => void): () => void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals): void => {
    if (stopping) process.exit(130);
    stopping = true;
    stop(signal);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}

/** The `version` of the package.json at `packageJsonUrl`, for `--version`. */
export function packageVersion(packageJsonUrl: URL): string {
  return (JSON.parse(readFileSync(packageJsonUrl, 'utf8')) as { version: string }).version;
}

/**
 * An optional integer flag: undefined when absent, a `UsageError` when not an integer in
 * `min`..`max`.
 */
export function integerFlag(flag: string, text: string | undefined, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (text === undefined) return undefined;
  const value = /^-?\d{1,15}$/.test(text.trim()) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `between ${min} and ${max}`;
    throw new UsageError(`--${flag} must be an integer ${range}, got "${text}"`);
  }
  return value;
}
