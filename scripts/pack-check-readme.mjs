// What the pack check reads in a README: its links (each must resolve inside the tarball or be an
// absolute https URL) and its "Use it from code" section (the snippets the check runs against the
// installed tarballs, and the packages its `npm install` line names).
import { existsSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';

/** The repository every package.json names; README links into it are checked against this tree. */
export const REPOSITORY = 'https://github.com/streampy/streampy';
const REPOSITORY_FILES = [`${REPOSITORY}/blob/main/`, `${REPOSITORY}/tree/main/`, 'https://raw.githubusercontent.com/streampy/streampy/main/'];

/** Fenced code blocks, in order: `{ lang, code, start, end }` (line numbers of the fences). */
export function fencedBlocks(lines) {
  const blocks = [];
  let open;
  for (const [index, line] of lines.entries()) {
    const fence = /^\s*(`{3,}|~{3,})\s*([\w-]*)/.exec(line);
    if (!open && fence) open = { marker: fence[1], lang: fence[2], start: index, body: [] };
    else if (open && line.trim().startsWith(open.marker) && line.trim().replace(/[`~]/g, '') === '') {
      blocks.push({ lang: open.lang, code: `${open.body.join('\n')}\n`, start: open.start, end: index });
      open = undefined;
    } else if (open) open.body.push(line);
  }
  return blocks;
}

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens. */
export function headingSlug(text) {
  return text
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');
}

/** Every link target of a markdown text outside code: inline links, images, references, HTML. */
export function linkTargets(text) {
  const lines = text.split('\n');
  const inCode = new Set(fencedBlocks(lines).flatMap((b) => Array.from({ length: b.end - b.start + 1 }, (_, i) => b.start + i)));
  const targets = [];
  for (const [index, raw] of lines.entries()) {
    if (inCode.has(index)) continue;
    const line = raw.replace(/`[^`]*`/g, '``');
    const add = (target) => targets.push({ line: index + 1, target: target.trim() });
    for (const m of line.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) add(m[1]);
    for (const m of line.matchAll(/^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+"[^"]*")?\s*$/g)) add(m[1]);
    for (const m of line.matchAll(/<(https?:\/\/[^>\s]+)>/g)) add(m[1]);
    for (const m of line.matchAll(/\b(?:href|src)="([^"]+)"/g)) add(m[1]);
  }
  return targets;
}

/**
 * The links of `readme` (a file inside the installed package at `packageDir`) that do not resolve:
 * relative links must name a file or folder of the package (and an anchor a heading of it),
 * absolute links must be https, and links into this repository must name a file that exists here.
 * `willExist(path)` says a missing file will be in the tarball by release time (a CHANGELOG.md
 * that `changeset version` writes).
 */
export function brokenLinks(readme, text, packageDir, { repoRoot, willExist = () => false }) {
  const headings = new Set(text.split('\n').filter((l) => /^#{1,6}\s/.test(l)).map((l) => headingSlug(l.replace(/^#+\s*/, ''))));
  const broken = [];
  for (const { line, target } of linkTargets(text)) {
    const problem = linkProblem(target, { readme, packageDir, headings, repoRoot, willExist });
    if (problem) broken.push(`${relative(packageDir, readme)}:${line} ${target}: ${problem}`);
  }
  return broken;
}

function linkProblem(target, { readme, packageDir, headings, repoRoot, willExist }) {
  if (target.startsWith('#')) return headings.has(target.slice(1)) ? undefined : 'no such heading';
  if (/^https:\/\//.test(target)) {
    const prefix = REPOSITORY_FILES.find((p) => target.startsWith(p));
    if (!prefix) return undefined;
    const path = decodeURIComponent(target.slice(prefix.length).split('#')[0]);
    return existsSync(join(repoRoot, path)) ? undefined : `${path} is not in the repository`;
  }
  if (/^[a-z][a-z+.-]*:/i.test(target)) return 'not an https URL';
  const path = decodeURIComponent(target.split('#')[0]);
  const file = resolve(dirname(readme), path);
  const inside = relative(packageDir, file);
  if (inside.startsWith('..') || isAbsolute(inside)) return 'points outside the package (use an absolute repository URL)';
  if (existsSync(file)) return undefined;
  if (willExist(inside)) return undefined;
  return statSync(dirname(file), { throwIfNoEntry: false }) ? 'not in the tarball' : 'its folder is not in the tarball';
}

/**
 * The "Use it from code" section: the packages its `npm install` line names and its js
 * snippets, each with the output the README shows for it (the plain or `text` block right
 * after it, when there is one). Undefined when the README has no such section.
 */
export function codeSection(text) {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => /^##\s+Use it from code\s*$/.test(l));
  if (start < 0) return undefined;
  const next = lines.findIndex((l, i) => i > start && /^##\s/.test(l));
  const end = next < 0 ? lines.length : next;
  const blocks = fencedBlocks(lines.slice(start, end));
  // The section's own `npm install` line, or else the README's first one.
  const installLine = (found) => found.filter((b) => b.lang === 'sh').map((b) => /npm install ([^\n#]+)/.exec(b.code)).find(Boolean);
  const install = installLine(blocks) ?? installLine(fencedBlocks(lines));
  const installs = install ? install[1].trim().split(/\s+/) : [];
  const snippets = [];
  for (const [i, block] of blocks.entries()) {
    if (block.lang !== 'js') continue;
    const after = blocks[i + 1];
    // The output block follows the snippet, with at most one line of prose ("Output:") between.
    const follows = after && (after.lang === '' || after.lang === 'text') && after.start - block.end <= 4;
    snippets.push({ line: start + block.start + 2, code: block.code, output: follows ? after.code : undefined });
  }
  return { installs, snippets };
}

/** Whether `actual` is what the README shows: line by line, `...` in a shown line stands for any text. */
export function sameOutput(shown, actual) {
  const lines = (text) => text.trimEnd().split('\n').map((l) => l.trimEnd());
  const want = lines(shown);
  const got = lines(actual);
  if (want.length !== got.length) return false;
  return want.every((line, i) => {
    const pattern = line.split('...').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*');
    return new RegExp(`^${pattern}$`).test(got[i]);
  });
}
