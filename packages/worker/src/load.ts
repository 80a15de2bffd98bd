import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { WorkerError } from './errors.js';
import { BUILTIN_FUNCTIONS, type WorkerFunction } from './functions.js';

export interface LoadedFunction {
  readonly fn: WorkerFunction;
  /** The name logs and the CLI show: the built-in's name or the module export's. */
  readonly name: string;
}

function looksLikePath(spec: string): boolean {
  return spec.startsWith('.') || isAbsolute(spec) || /\.[cm]?js$/.test(spec);
}

function unknown(message: string, cause?: unknown): WorkerError {
  return new WorkerError('ERR_UNKNOWN_FUNCTION', message, cause === undefined ? undefined : { cause });
}

/**
 * Resolves `--function`: a built-in name, or a module path (resolved from `cwd`) whose
 * `exportName` export is used, else its default export, else its only exported function.
 */
export async function loadWorkerFunction(spec: string, options: { exportName?: string; cwd?: string } = {}): Promise<LoadedFunction> {
  if (!looksLikePath(spec)) {
    const fn = BUILTIN_FUNCTIONS[spec];
    if (fn === undefined || !Object.hasOwn(BUILTIN_FUNCTIONS, spec)) {
      throw unknown(`unknown function "${spec}"; built-ins: ${Object.keys(BUILTIN_FUNCTIONS).join(', ')}, or a module path like ./fn.mjs`);
    }
    return { fn, name: spec };
  }
  const path = resolve(options.cwd ?? process.cwd(), spec);
  let module: Record<string, unknown>;
  try {
    module = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (cause) {
    throw unknown(`cannot load function module ${path}: ${cause instanceof Error ? cause.message : String(cause)}`, cause);
  }
  const pick = (name: string): LoadedFunction | undefined => {
    const value = module[name];
    if (typeof value !== 'function') return undefined;
    return { fn: value as WorkerFunction, name: name === 'default' ? (value.name || moduleName(spec)) : name };
  };
  if (options.exportName !== undefined) {
    return pick(options.exportName) ?? raise(unknown(`module ${path} has no exported function "${options.exportName}"`));
  }
  const fallback = pick('default');
  if (fallback) return fallback;
  const functions = Object.keys(module).filter((name) => typeof module[name] === 'function');
  if (functions.length === 1) return pick(functions[0] as string) as LoadedFunction;
  throw unknown(
    functions.length === 0
      ? `module ${path} exports no function`
      : `module ${path} exports several functions (${functions.join(', ')}): choose one with --export NAME`,
  );
}

function moduleName(spec: string): string {
  return (spec.split(/[\\/]/).pop() ?? spec).replace(/\.[cm]?[jt]s$/, '');
}

function raise(error: Error): never {
  throw error;
}
