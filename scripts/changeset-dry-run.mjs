#!/usr/bin/env node
// Proves that `changeset version` turns the pending changesets into a release: every published
// package gets a version bump and a CHANGELOG.md (the file each package README links). It runs
// in a throwaway copy holding only what changesets reads (the workspace manifests, the
// changesets and the existing changelogs), so the working tree is never bumped.
//
//   node scripts/changeset-dry-run.mjs          # prints the plan; exit 1 if a package would lack a changelog
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = join(import.meta.dirname, '..');

/**
 * Runs `changeset version` in a copy of the workspace; returns, per package name,
 * `{ dir, private, from, to, changelog }` (`changelog`: the CHANGELOG.md text after the run,
 * undefined when there is none).
 */
export async function changesetDryRun() {
  const copy = mkdtempSync(join(tmpdir(), 'streampy-changeset-'));
  try {
    for (const file of ['package.json', 'pnpm-workspace.yaml']) cpSync(join(repoRoot, file), join(copy, file));
    cpSync(join(repoRoot, '.changeset'), join(copy, '.changeset'), { recursive: true });
    // changesets loads its changelog generator (@changesets/cli/changelog) from here.
    symlinkSync(join(repoRoot, 'node_modules'), join(copy, 'node_modules'), process.platform === 'win32' ? 'junction' : 'dir');
    const before = new Map();
    for (const dir of packageDirs()) {
      const target = join(copy, relative(repoRoot, dir));
      mkdirSync(target, { recursive: true });
      for (const file of ['package.json', 'CHANGELOG.md']) {
        if (existsSync(join(dir, file))) cpSync(join(dir, file), join(target, file));
      }
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      before.set(manifest.name, { dir, target, private: manifest.private === true, from: manifest.version });
    }
    await promisify(execFile)(process.execPath, [join(repoRoot, 'node_modules', '@changesets', 'cli', 'bin.js'), 'version'], { cwd: copy, timeout: 60_000 });
    const result = new Map();
    for (const [name, info] of before) {
      const manifest = JSON.parse(readFileSync(join(info.target, 'package.json'), 'utf8'));
      const changelogFile = join(info.target, 'CHANGELOG.md');
      const changelog = existsSync(changelogFile) ? readFileSync(changelogFile, 'utf8') : undefined;
      result.set(name, { dir: info.dir, private: info.private, from: info.from, to: manifest.version, changelog });
    }
    return result;
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
}

/**
 * `changesetDryRun()`, remembered in the temp folder under a hash of everything it reads (the
 * changesets, the manifests, the changelogs, the changesets version): the pack check of each
 * package asks, and one run answers them all.
 */
export async function cachedChangesetDryRun() {
  const hash = createHash('sha256');
  const feed = (file) => hash.update(`${relative(repoRoot, file)}\0${existsSync(file) ? readFileSync(file) : ''}\0`);
  for (const file of readdirSync(join(repoRoot, '.changeset')).sort()) feed(join(repoRoot, '.changeset', file));
  for (const dir of packageDirs()) for (const file of ['package.json', 'CHANGELOG.md']) feed(join(dir, file));
  feed(join(repoRoot, 'node_modules', '@changesets', 'cli', 'package.json'));
  const cache = join(tmpdir(), `streampy-changeset-dry-run-${hash.digest('hex').slice(0, 16)}.json`);
  if (existsSync(cache)) return new Map(JSON.parse(readFileSync(cache, 'utf8')));
  const result = await changesetDryRun();
  writeFileSync(cache, JSON.stringify([...result]));
  return result;
}

function packageDirs() {
  const dirs = [];
  for (const group of ['packages', 'apps']) {
    for (const entry of readdirSync(join(repoRoot, group), { withFileTypes: true })) {
      const dir = join(repoRoot, group, entry.name);
      if (entry.isDirectory() && existsSync(join(dir, 'package.json'))) dirs.push(dir);
    }
  }
  return dirs;
}

/** The problems of a dry run: a published package that would be released without a changelog entry. */
export function dryRunProblems(result) {
  const problems = [];
  for (const [name, info] of result) {
    if (info.private) continue;
    if (info.from === info.to && !info.changelog) problems.push(`${name}: no pending changeset and no CHANGELOG.md`);
    else if (info.from !== info.to && !info.changelog?.includes(`## ${info.to}`)) problems.push(`${name}: bumped to ${info.to} without a "## ${info.to}" CHANGELOG.md entry`);
  }
  return problems;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const started = Date.now();
  const result = await changesetDryRun();
  const problems = dryRunProblems(result);
  for (const [name, info] of result) {
    if (info.private) continue;
    const entries = (info.changelog?.match(/^- /gm) ?? []).length;
    process.stdout.write(`${name.padEnd(20)} ${info.from} -> ${info.to}  CHANGELOG.md ${info.changelog ? `(${entries} entries)` : 'none'}\n`);
  }
  process.stdout.write(`changeset version dry run: ${problems.length === 0 ? 'ok' : 'FAILED'} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  for (const problem of problems) process.stderr.write(`  ${problem}\n`);
  process.exit(problems.length === 0 ? 0 : 1);
}
