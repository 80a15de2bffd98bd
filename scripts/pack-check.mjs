#!/usr/bin/env node
// Proves a published package works for a stranger. Packs it and the workspace packages it needs,
// installs the tarballs with plain npm in a folder outside the workspace, imports it from a .mjs
// file, runs its README's "Use it from code" snippets (comparing what they print), type-checks a
// consumer under TypeScript 6's defaults against the shipped .d.ts, runs each bin with --help and
// --version, checks every README link resolves inside the tarball (or is an https URL), and runs
// publint and attw. Once installed, the independent checks run side by side.
//
//   node scripts/pack-check.mjs [PACKAGE_DIR]      # default: the current folder (a package's pack:check script)
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { cachedChangesetDryRun } from './changeset-dry-run.mjs';
import { installConsumer, packAll, repoRoot, runAsync, runtimeClosure, workspacePackages } from './pack-check-install.mjs';
import { brokenLinks, codeSection, sameOutput } from './pack-check-readme.mjs';
import { SPECS } from './pack-check-specs.mjs';

const packageDir = resolve(process.argv[2] ?? process.cwd());
const manifest = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8'));
const name = manifest.name;
const spec = SPECS[name];
const tool = (command) => join(repoRoot, 'node_modules', '.bin', process.platform === 'win32' ? `${command}.cmd` : command);
const tsc = join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
const node = process.execPath;

/** A series of checks run one after another; several series run at once, each keeping its own lines. */
class Series {
  lines = [];
  #since = Date.now();

  check(what, ok, detail = '') {
    if (!ok) throw new Error(`${what}${detail ? `: ${detail}` : ''}`);
    this.lines.push(`ok  ${what} (${((Date.now() - this.#since) / 1000).toFixed(1)} s)`);
    this.#since = Date.now();
  }
}

const started = Date.now();
const series = [];
const tmp = mkdtempSync(join(tmpdir(), `streampy-pack-${name.replace(/\W/g, '-')}-`));
try {
  const first = new Series();
  series.push(first);
  const { consumer, installed, shipped, section, tarball } = await packAndInstall(first);
  // Settled, not all: a failed series must not leave the others running while the folder goes.
  const results = await Promise.allSettled(
    [
      (s) => importAndRun(s, consumer, section),
      (s) => typeCheck(s, consumer),
      (s) => lint(s, tarball),
      (s) => checkLinks(s, installed),
      (s) => runBins(s, consumer, shipped),
    ].map((task) => {
      const s = new Series();
      series.push(s);
      return task(s);
    }),
  );
  const failure = results.find((r) => r.status === 'rejected');
  if (failure) throw failure.reason;
  const lines = series.flatMap((s) => s.lines);
  console.log(`pack:check ${name}: all ${lines.length} checks passed in ${((Date.now() - started) / 1000).toFixed(1)} s\n${lines.map((line) => `  ${line}`).join('\n')}`);
} catch (error) {
  const lines = series.flatMap((s) => s.lines);
  console.error(`pack:check ${name} FAILED after ${lines.length} checks:\n${lines.map((line) => `  ${line}`).join('\n')}\n${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

/** Packs what the README's install line names (with their workspace dependencies) and installs it with npm. */
async function packAndInstall(s) {
  if (!spec) throw new Error(`${name} has no entry in scripts/pack-check-specs.mjs`);
  const fromRoot = relative(repoRoot, tmp);
  if (!fromRoot.startsWith('..') && !isAbsolute(fromRoot)) throw new Error(`${tmp} is inside the workspace: npm would see its packages`);
  const section = codeSection(readFileSync(join(packageDir, 'README.md'), 'utf8'));
  s.check('README has a "Use it from code" section with a js snippet', (section?.snippets.length ?? 0) > 0);
  const packages = workspacePackages();
  const named = section.installs.filter((n) => packages.has(n));
  const thirdParty = section.installs.filter((n) => !packages.has(n));
  s.check(`the README's npm install line names ${name}`, section.installs.includes(name), section.installs.join(' '));
  const closure = runtimeClosure([name, ...named], packages);
  mkdirSync(join(tmp, 'tarballs'));
  const tarballs = packAll(closure, join(tmp, 'tarballs'));
  s.check(`pnpm pack: ${closure.join(', ')}`, true);

  const consumer = installConsumer(join(tmp, 'consumer'), tarballs, thirdParty);
  const installed = join(consumer, 'node_modules', ...name.split('/'));
  const shipped = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8'));
  const ranges = Object.entries(shipped.dependencies ?? {}).filter(([, range]) => String(range).startsWith('workspace:'));
  s.check('npm installed the tarballs outside the workspace; no workspace: ranges left', ranges.length === 0, ranges.join(', '));
  checkContents(s, installed, consumer);
  return { consumer, installed, shipped, section, tarball: tarballs.get(name) };
}

/** The tarball holds what `files` names plus npm's always-included files, and no build info or tests. */
function checkContents(s, installed, consumer) {
  const allowed = new Set([...manifest.files.filter((f) => !f.startsWith('!')).map((f) => f.split('/')[0]), 'package.json', 'README.md', 'LICENSE', 'CHANGELOG.md']);
  const shipped = readdirSync(installed);
  const extra = shipped.filter((f) => !allowed.has(f));
  s.check('tarball ships dist, README.md, LICENSE and what `files` names, nothing else', ['dist', 'README.md', 'LICENSE'].every((f) => shipped.includes(f)) && extra.length === 0, `shipped: ${shipped.join(', ')}`);
  const stray = readdirSync(join(installed, 'dist'), { recursive: true }).filter((f) => String(f).includes('tsbuildinfo') || String(f).includes('.test.'));
  s.check('tarball has no build info or tests', stray.length === 0, stray.join(', '));
  if (spec.alone) {
    const deps = ['dependencies', 'peerDependencies', 'optionalDependencies'].filter((f) => Object.keys(manifest[f] ?? {}).length > 0);
    const modules = readdirSync(join(consumer, 'node_modules')).filter((f) => !f.startsWith('.'));
    s.check(`${name} installs alone: no dependencies`, deps.length === 0 && modules.join() === '@streampy', `${deps.join(', ')} ${modules.join(', ')}`);
  }
}

/** A plain ESM import finds the exports; each README snippet runs and prints what the README shows. */
async function importAndRun(s, consumer, section) {
  const exportsMjs = `import * as pkg from '${name}';
const missing = ${JSON.stringify(spec.exports)}.filter((name) => !['function', 'object', 'number'].includes(typeof pkg[name]));
if (missing.length > 0) throw new Error('missing exports: ' + missing.join(', '));
console.log('exports ok');
`;
  writeFileSync(join(consumer, 'exports.mjs'), exportsMjs);
  const exportsOut = (await runAsync(node, ['exports.mjs'], { cwd: consumer })).trim();
  s.check(`plain ESM import: ${spec.exports.length} exports there`, exportsOut === 'exports ok', exportsOut);
  for (const [index, snippet] of section.snippets.entries()) {
    const file = `snippet-${index + 1}.mjs`;
    writeFileSync(join(consumer, file), snippet.code);
    const out = await runAsync(node, [file], { cwd: consumer, timeoutMs: 60_000 });
    const same = snippet.output === undefined || sameOutput(snippet.output, out);
    s.check(`README snippet at line ${snippet.line} runs${snippet.output === undefined ? '' : ' and prints what the README shows'}`, same, `printed:\n${out}`);
  }
}

/**
 * tsc with TypeScript 6's defaults (strict, default `types`: none) and `module nodenext`, as a
 * new project gets them, over a consumer of the shipped .d.ts files, every .d.ts checked
 * (skipLibCheck off, the default) but TypeScript's own lib files (checking lib.dom.d.ts
 * tripled the time and proves nothing about the package).
 */
async function typeCheck(s, consumer) {
  mkdirSync(join(consumer, 'types'));
  writeFileSync(join(consumer, 'types', 'check.ts'), spec.types);
  const compilerOptions = { module: 'nodenext', noEmit: true, skipLibCheck: false, skipDefaultLibCheck: true, ...spec.tsconfig };
  writeFileSync(join(consumer, 'types', 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['check.ts'] }, null, 2));
  await runAsync(node, [tsc, '-p', 'tsconfig.json'], { cwd: join(consumer, 'types') });
  const extra = spec.tsconfig ? `, lib ${spec.tsconfig.lib.join()}: neither Node nor DOM typings` : '';
  s.check(`tsc (TypeScript 6 defaults, module nodenext${extra}) of a consumer against the shipped .d.ts`, true);
}

async function lint(s, tarball) {
  const publint = (await runAsync(tool('publint'), ['run', tarball, '--strict', '--level', 'suggestion'], { cwd: packageDir })).trim();
  s.check('publint: no errors, warnings or suggestions', /all good/i.test(publint), publint);
  await runAsync(tool('attw'), [tarball, '--profile', 'esm-only', '--format', 'ascii'], { cwd: packageDir });
  s.check('attw (esm-only profile): no problems', true);
}

/** Each bin, as npm linked it, answers --help and --version with exit 0. */
async function runBins(s, consumer, shipped) {
  for (const command of Object.keys(shipped.bin ?? {})) {
    const path = join(consumer, 'node_modules', '.bin', process.platform === 'win32' ? `${command}.cmd` : command);
    const help = await runAsync(path, ['--help'], { cwd: consumer, timeoutMs: 30_000 });
    const version = (await runAsync(path, ['--version'], { cwd: consumer, timeoutMs: 30_000 })).trim();
    s.check(`${command} --help (${help.split('\n').length} lines) and --version (${version})`, help.includes(command) && version.endsWith(shipped.version), `help:\n${help}\nversion: ${version}`);
  }
}

/** Every markdown file shipped: its links resolve inside the tarball or are https URLs. */
async function checkLinks(s, installed) {
  const markdown = readdirSync(installed, { recursive: true }).map(String).filter((f) => f.endsWith('.md') && !f.startsWith('node_modules'));
  const changelogWillExist = !existsSync(join(installed, 'CHANGELOG.md')) && (await cachedChangesetDryRun()).get(name)?.changelog !== undefined;
  const willExist = (path) => path === 'CHANGELOG.md' && changelogWillExist;
  const broken = markdown.flatMap((file) => brokenLinks(join(installed, file), readFileSync(join(installed, file), 'utf8'), installed, { repoRoot, willExist }));
  const note = changelogWillExist ? '; CHANGELOG.md: `changeset version` writes it (dry run)' : '';
  s.check(`links of ${markdown.join(', ')} resolve in the tarball or are https URLs${note}`, broken.length === 0, `\n  ${broken.join('\n  ')}`);
}
