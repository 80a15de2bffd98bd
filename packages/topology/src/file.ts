import { readFile } from 'node:fs/promises';
import { basename, dirname, extname, resolve } from 'node:path';
import { LineCounter, isAlias, isMap, isScalar, isSeq, parseDocument, type Document, type Node, type Pair } from 'yaml';
import { badTopology } from './errors.js';
import type { Topology } from './model.js';
import { FAULT_KEYS, QUEUE_KEYS, TOP_KEYS, WORKER_KEYS, type KeySpec } from './keys.js';
import { NAME_PATTERN } from './values.js';
import { resolveTopology, type RawFault, type RawQueue, type RawTopology, type RawWorker, type Located } from './resolve.js';

/** Every problem of a file, each as `FILE:LINE: PATH: message`. */
export class Problems {
  readonly list: string[] = [];
  readonly #shownAs: string;
  readonly #lines: LineCounter;

  constructor(shownAs: string, lines: LineCounter) {
    this.#shownAs = shownAs;
    this.#lines = lines;
  }

  lineOf(node: Node | null | undefined): number {
    const offset = node?.range?.[0];
    return offset === undefined ? 1 : this.#lines.linePos(offset).line;
  }

  at(line: number, path: string, message: string): void {
    // A broken file can have thousands of problems; the first ones say what to fix.
    if (this.list.length < 50) this.list.push(`${this.#shownAs}:${line}: ${path === '' ? '' : `${path}: `}${message}`);
  }

  add(node: Node | null | undefined, path: string, message: string): void {
    this.at(this.lineOf(node), path, message);
  }

  throwIfAny(): void {
    if (this.list.length > 0) throw badTopology(this.list);
  }
}

/** The map's entries, each with its key's text and nodes; non-string keys and duplicates reported. */
function entries(doc: Document, node: Node, path: string, problems: Problems): { key: string; keyNode: Node; value: Node | null; line: number }[] {
  const out: { key: string; keyNode: Node; value: Node | null; line: number }[] = [];
  for (const pair of (node as unknown as { items: Pair<Node, Node | null>[] }).items) {
    const keyNode = pair.key;
    const key = isScalar(keyNode) ? keyNode.value : undefined;
    if (typeof key !== 'string' && typeof key !== 'number') {
      problems.add(keyNode, path, 'keys must be plain names');
      continue;
    }
    const value = isAlias(pair.value) ? (pair.value.resolve(doc) ?? null) : pair.value;
    out.push({ key: String(key), keyNode, value, line: problems.lineOf(keyNode) });
  }
  return out;
}

const join = (path: string, key: string): string => (path === '' ? key : NAME_PATTERN.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`);

/** A node's plain value (scalars and lists of scalars; a map shows as an object). */
function plain(doc: Document, node: Node | null): unknown {
  if (node === null) return null;
  return (node as unknown as { toJS(doc: Document): unknown }).toJS(doc);
}

/**
 * Reads one map of keys against a key table: unknown keys, missing required ones and values of
 * the wrong type are reported; the checked values come back by key, with the line of each.
 */
function readKeys(doc: Document, node: Node | null, path: string, keys: readonly KeySpec[], problems: Problems, parentLine: number): Map<string, Located<unknown>> | undefined {
  if (node === null || (isScalar(node) && node.value === null)) node = null;
  if (node !== null && !isMap(node)) {
    problems.add(node, path, `must be a map of keys (${keys.map((spec) => spec.key).join(', ')}), got ${describe(doc, node)}`);
    return undefined;
  }
  const values = new Map<string, Located<unknown>>();
  const seen = node === null ? [] : entries(doc, node, path, problems);
  for (const { key, keyNode, value, line } of seen) {
    const spec = keys.find((candidate) => candidate.key === key);
    if (spec === undefined) {
      problems.add(keyNode, join(path, key), `unknown key; known keys: ${keys.map((candidate) => candidate.key).join(', ')}`);
      continue;
    }
    const checked = spec.type.check(plain(doc, value));
    if (!checked.ok) problems.at(value === null ? line : problems.lineOf(value), join(path, key), checked.message);
    else values.set(key, { value: checked.value, line });
  }
  for (const spec of keys) {
    if (spec.required === true && !seen.some((entry) => entry.key === spec.key)) problems.at(parentLine, join(path, spec.key), 'is required');
  }
  return values;
}

function describe(doc: Document, node: Node): string {
  if (isSeq(node)) return 'a list';
  if (isMap(node)) return 'a map';
  const value = plain(doc, node);
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

/** The named maps under `queues:` or `workers:`, each read against its key table. */
function readNamed(
  doc: Document,
  node: Node | null,
  path: string,
  keys: readonly KeySpec[],
  problems: Problems,
): { name: string; line: number; values: Map<string, Located<unknown>> }[] {
  if (node === null || (isScalar(node) && node.value === null)) return [];
  if (!isMap(node)) {
    problems.add(node, path, `must be a map of names to ${path === 'queues' ? 'queue' : 'worker'} settings, got ${describe(doc, node)}`);
    return [];
  }
  const out: { name: string; line: number; values: Map<string, Located<unknown>> }[] = [];
  for (const { key, value, line } of entries(doc, node, path, problems)) {
    if (!NAME_PATTERN.test(key)) {
      problems.at(line, join(path, key), 'a name is 1-64 characters A-Z a-z 0-9 _ . - (not starting with . or -)');
      continue;
    }
    const values = readKeys(doc, value, join(path, key), keys, problems, line);
    if (values) out.push({ name: key, line, values });
  }
  return out;
}

function readFaults(doc: Document, node: Node | null, problems: Problems): RawFault[] {
  if (node === null || (isScalar(node) && node.value === null)) return [];
  if (!isSeq(node)) {
    problems.add(node, 'faults', `must be a list of { from, to, drop?, dup?, reorder?, delay?, corrupt?, seed? }, got ${describe(doc, node)}`);
    return [];
  }
  const out: RawFault[] = [];
  node.items.forEach((item, index) => {
    const resolved = isAlias(item) ? (item.resolve(doc) ?? null) : (item as Node | null);
    const line = problems.lineOf(resolved);
    const values = readKeys(doc, resolved, `faults[${index}]`, FAULT_KEYS, problems, line);
    if (values) out.push({ index, line, values });
  });
  return out;
}

export interface ParseOptions {
  /** Absolute path of the file: relative paths in it are resolved from its folder. */
  readonly file: string;
  /** How messages name the file; default the path as given. */
  readonly shownAs?: string;
}

/** Parses and checks topology text (YAML or JSON); throws TopologyError listing every problem. */
export function parseTopology(source: string, options: ParseOptions): Topology {
  const file = resolve(options.file);
  const shownAs = options.shownAs ?? options.file;
  const lines = new LineCounter();
  const problems = new Problems(shownAs, lines);
  const doc = parseDocument(source, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  for (const error of doc.errors) {
    const line = error.linePos?.[0].line ?? lines.linePos(error.pos[0]).line;
    problems.at(line, '', error.message.split('\n')[0] ?? error.message);
  }
  problems.throwIfAny();
  const root = doc.contents as Node | null;
  if (root === null || !isMap(root)) {
    problems.at(problems.lineOf(root), '', 'a topology file is a map with queues (required), workers and faults');
    problems.throwIfAny();
  }
  const top = new Map(entries(doc, root as Node, '', problems).map((entry) => [entry.key, entry]));
  for (const [key, entry] of top) {
    if (!TOP_KEYS.some((spec) => spec.key === key)) problems.at(entry.line, key, `unknown key; known keys: ${TOP_KEYS.map((spec) => spec.key).join(', ')}`);
  }
  if (!top.has('queues')) problems.at(1, 'queues', 'is required: a topology needs at least one queue');
  const nameEntry = top.get('name');
  let name = basename(file, extname(file));
  if (nameEntry !== undefined) {
    const given = plain(doc, nameEntry.value);
    if (typeof given === 'string' && NAME_PATTERN.test(given)) name = given;
    else problems.at(nameEntry.line, 'name', `must be a name (A-Z a-z 0-9 _ . -), got ${nameEntry.value === null ? 'nothing' : describe(doc, nameEntry.value)}`);
  }
  const authEntry = top.get('auth-key-file');
  let authKeyFile: string | undefined;
  if (authEntry !== undefined) {
    const given = plain(doc, authEntry.value);
    if (typeof given === 'string' && given !== '') authKeyFile = resolve(dirname(file), given);
    else problems.at(authEntry.line, 'auth-key-file', `must be a path, got ${authEntry.value === null ? 'nothing' : describe(doc, authEntry.value)}`);
  }
  const raw: RawTopology = {
    name,
    file,
    dir: dirname(file),
    queues: readNamed(doc, top.get('queues')?.value ?? null, 'queues', QUEUE_KEYS, problems) satisfies RawQueue[],
    workers: readNamed(doc, top.get('workers')?.value ?? null, 'workers', WORKER_KEYS, problems) satisfies RawWorker[],
    faults: readFaults(doc, top.get('faults')?.value ?? null, problems),
  };
  problems.throwIfAny();
  if (raw.queues.length === 0) problems.at(top.get('queues')?.line ?? 1, 'queues', 'a topology needs at least one queue');
  problems.throwIfAny();
  const topology = resolveTopology(raw, problems);
  problems.throwIfAny();
  return authKeyFile === undefined ? topology : { ...topology, authKeyFile };
}

/** Reads and checks a topology file; messages name it as `path` was given. */
export async function loadTopology(path: string): Promise<Topology> {
  let source: string;
  try {
    source = await readFile(path, 'utf8');
  } catch (cause) {
    throw badTopology([`${path}: cannot read the topology file: ${(cause as Error).message}`], cause);
  }
  return parseTopology(source, { file: path, shownAs: path });
}
