// Packs workspace packages and installs the tarballs with plain npm in a folder outside the
// workspace, as a stranger would get them from the registry: `pnpm pack` rewrites `workspace:^`
// into real ranges, and npm resolves those ranges to the tarballs installed beside them (only
// third-party dependencies come from the registry).
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const repoRoot = join(import.meta.dirname, '..');
const shell = process.platform === 'win32';

/** Runs a command, returning its stdout; a failure carries the command and everything it printed. */
export function run(command, args, { cwd, timeoutMs = 180_000, env } = {}) {
  try {
    return execFileSync(command, args, {
      cwd,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: timeoutMs,
      shell: shell && !command.endsWith('.exe'),
      env: env ?? process.env,
    });
  } catch (error) {
    const output = `${error.stdout ?? ''}${error.stderr ?? ''}`.trim();
    throw new Error(`${[command, ...args].join(' ')} failed (exit ${error.status ?? error.signal ?? error.code}):\n${output}`, { cause: error });
  }
}

/** `run` without blocking, so independent checks overlap: resolves to stdout. */
export function runAsync(command, args, { cwd, timeoutMs = 180_000 } = {}) {
  return new Promise((resolve, reject) => {
    const options = { cwd, encoding: 'utf8', timeout: timeoutMs, shell: shell && !command.endsWith('.exe'), maxBuffer: 16 * 1024 * 1024 };
    execFile(command, args, options, (error, stdout, stderr) => {
      if (!error) return resolve(stdout);
      const output = `${stdout ?? ''}${stderr ?? ''}`.trim();
      reject(new Error(`${[command, ...args].join(' ')} failed (exit ${error.code ?? error.signal}):\n${output}`, { cause: error }));
    });
  });
}

/** Every workspace package by name: its folder and manifest. */
export function workspacePackages() {
  const found = new Map();
  for (const group of ['packages', 'apps']) {
    for (const entry of readdirSync(join(repoRoot, group), { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      const dir = join(repoRoot, group, entry.name);
      let manifest;
      try {
        manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      } catch {
        continue;
      }
      found.set(manifest.name, { dir, manifest });
    }
  }
  return found;
}

/**
 * `names` and every workspace package they depend on at run time (dependencies and peer
 * dependencies, not devDependencies): what a user's `npm install` would bring.
 */
export function runtimeClosure(names, packages) {
  const closure = new Set();
  const visit = (name) => {
    if (closure.has(name)) return;
    const pkg = packages.get(name);
    if (!pkg) throw new Error(`${name} is not a workspace package`);
    if (pkg.manifest.private) throw new Error(`${name} is private: a published package cannot depend on it`);
    closure.add(name);
    for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies']) {
      for (const [dep, spec] of Object.entries(pkg.manifest[field] ?? {})) {
        if (String(spec).startsWith('workspace:')) visit(dep);
      }
    }
  };
  for (const name of names) visit(name);
  return [...closure].sort();
}

/** Packs each of `names` into `destination` (one pnpm call); returns the tarball path of each. */
export function packAll(names, destination) {
  const filters = names.flatMap((name) => ['--filter', name]);
  run('pnpm', [...filters, '--recursive', 'pack', '--pack-destination', destination], { cwd: repoRoot });
  const tarballs = new Map();
  const files = readdirSync(destination).filter((f) => f.endsWith('.tgz'));
  const packages = workspacePackages();
  for (const name of names) {
    const { manifest } = packages.get(name);
    const file = `${name.replace(/^@/, '').replace('/', '-')}-${manifest.version}.tgz`;
    if (!files.includes(file)) throw new Error(`pnpm pack made no ${file} (made: ${files.join(', ')})`);
    tarballs.set(name, join(destination, file));
  }
  return tarballs;
}

/**
 * A fresh consumer project in `dir` with the tarballs installed by npm; returns its folder. The
 * tarballs are also `overrides`, so npm never asks the registry about our own packages (only
 * third-party ones, from its cache when there).
 */
export function installConsumer(dir, tarballs, thirdParty = []) {
  mkdirSync(dir, { recursive: true });
  const files = Object.fromEntries([...tarballs].map(([name, file]) => [name, `file:${file}`]));
  const manifest = { name: 'pack-check-consumer', private: true, type: 'module', dependencies: files, overrides: files };
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  const flags = ['--no-audit', '--no-fund', '--ignore-scripts', '--no-package-lock', '--prefer-offline', '--fetch-timeout', '30000', '--fetch-retries', '1', '--loglevel', 'error'];
  run('npm', ['install', ...flags, ...thirdParty], { cwd: dir });
  return dir;
}
