import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parseHostPort, type HostPort } from './address.js';
import { isLogLevel, type LogLevel } from './logger.js';

/**
 * One flag, as `parseArgs` takes it. Declared here rather than taken from node:util's types so
 * the shipped .d.ts needs no Node typings (TypeScript 6 loads none by default).
 */
export interface FlagConfig {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  readonly multiple?: boolean;
  readonly default?: string | boolean | string[] | boolean[];
}

/** A command's flags, as `parseArgs` takes them. */
export type ParseArgsOptionsConfig = Readonly<Record<string, FlagConfig>>;

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

/** An optional flag that takes one of `allowed`: undefined when absent, a `UsageError` when another value. */
export function choiceFlag<T extends string>(flag: string, text: string | undefined, allowed: readonly T[]): T | undefined {
  if (text === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(text)) throw new UsageError(`--${flag} must be one of ${allowed.join(', ')}, got "${text}"`);
  return text as T;
}

/** A log level flag: `fallback` when absent, a `UsageError` when not a level. */
export function logLevelFlag(flag: string, text: string | undefined, fallback: LogLevel): LogLevel {
  const value = text ?? fallback;
  if (!isLogLevel(value)) throw new UsageError(`--${flag} must be debug, info, warn or error, got "${value}"`);
  return value;
}

/** An optional `host:port` flag: undefined when absent, a `UsageError` naming the flag when not an address. */
export function hostPortFlag(flag: string, text: string | undefined): HostPort | undefined {
  if (text === undefined) return undefined;
  try {
    return parseHostPort(text, `--${flag}`);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** The flags every streampy command takes. */
const STANDARD_FLAGS = {
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const satisfies ParseArgsOptionsConfig;

type Flags<O extends ParseArgsOptionsConfig> = O & typeof STANDARD_FLAGS;

type FlagValue<F extends FlagConfig> = F['multiple'] extends true ? (F['type'] extends 'boolean' ? boolean[] : string[]) : F['type'] extends 'boolean' ? boolean : string;
type WithDefault<O extends ParseArgsOptionsConfig> = { [K in keyof O]: O[K] extends { readonly default: unknown } ? K : never }[keyof O];

/** What `parseCommandLine` returns, typed as `parseArgs`'s strict result: a flag with a default is always there. */
export interface CommandLine<O extends ParseArgsOptionsConfig> {
  values: { [K in WithDefault<Flags<O>>]: FlagValue<Flags<O>[K]> } & { [K in Exclude<keyof Flags<O>, WithDefault<Flags<O>>>]?: FlagValue<Flags<O>[K]> | undefined };
  positionals: string[];
}

/** A command's flags, and whether it takes positional arguments (default no). */
export interface CommandLineSpec<O extends ParseArgsOptionsConfig> {
  readonly options: O;
  readonly positionals?: boolean;
}

/**
 * Reads a command line (pnpm's leading `--` dropped) with `-h/--help` and `-v/--version` added
 * to `options`. Bad input is a `UsageError` in our own words, one line: `parseArgs`'s strict
 * mode would throw its own texts (several lines, and a value such as `-1` called "ambiguous"),
 * so it runs loose and its tokens are checked here. A string flag takes the next argument as
 * its value even when that starts with `-`: the flag's own check then says what is wrong.
 */
export function parseCommandLine<O extends ParseArgsOptionsConfig>(argv: readonly string[], spec: CommandLineSpec<O>): CommandLine<O> {
  const options: ParseArgsOptionsConfig = { ...spec.options, ...STANDARD_FLAGS };
  const { values, positionals, tokens } = parseArgs({ args: normalizeArgv(argv), options, strict: false, allowPositionals: true, tokens: true });
  for (const token of tokens) {
    if (token.kind === 'positional') {
      if (spec.positionals !== true) throw new UsageError(`unexpected argument "${token.value}"`);
    } else if (token.kind === 'option') {
      const type = Object.hasOwn(options, token.name) ? options[token.name]?.type : undefined;
      if (type === undefined) throw new UsageError(`unknown option ${token.rawName}`);
      if (type === 'string' && token.value === undefined) throw new UsageError(`${token.rawName} needs a value`);
      if (type === 'boolean' && token.inlineValue === true) throw new UsageError(`${token.rawName} takes no value`);
    }
  }
  return { values, positionals } as unknown as CommandLine<O>;
}

/** A streampy command: its name, help text, version source and flags. */
export interface CommandSpec<O extends ParseArgsOptionsConfig> extends CommandLineSpec<O> {
  readonly program: string;
  readonly help: string;
  /** The package.json whose version `--version` prints. */
  readonly packageJson: URL;
}

/**
 * Runs a command with the conventions of every streampy CLI: `-h/--help` prints `help`,
 * `-v/--version` the package's version (both exit 0); a bad command line is one line on stderr
 * plus `Try '<program> --help'`, exit 2; otherwise `main` runs with the parsed command line
 * (its exit codes as in `runCli`).
 */
export function runCommand<O extends ParseArgsOptionsConfig>(
  spec: CommandSpec<O>,
  main: (commandLine: CommandLine<O>) => Promise<number | void>,
  argv: readonly string[] = process.argv.slice(2),
): void {
  runCli(spec.program, async () => {
    const commandLine = parseCommandLine(argv, spec);
    const { help, version } = commandLine.values as { help?: boolean; version?: boolean };
    if (help === true) {
      process.stdout.write(spec.help.endsWith('\n') ? spec.help : `${spec.help}\n`);
      return 0;
    }
    if (version === true) {
      process.stdout.write(`${packageVersion(spec.packageJson)}\n`);
      return 0;
    }
    return main(commandLine);
  });
}
