import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FAULT_KEYS, QUEUE_KEYS, TopologyError, WORKER_KEYS, loadTopology, parseTopology, resolveBin, topologySchema } from '../src/index.js';

const DIR = mkdtempSync(join(tmpdir(), 'streampy-topology-file-'));

/** The problems parseTopology reports for `source`, as written in a file named pipeline.yaml. */
function problemsOf(source: string): readonly string[] {
  try {
    parseTopology(source, { file: join(DIR, 'pipeline.yaml'), shownAs: 'pipeline.yaml' });
  } catch (error) {
    if (error instanceof TopologyError) {
      expect(error.code).toBe('ERR_BAD_OPTION');
      expect(error.message).toBe(error.problems.join('\n'));
      return error.problems;
    }
    throw error;
  }
  return [];
}

const GOOD = `queues:
  source: {}
  sink: { data-dir: ./data/sink, fsync: always, max-messages: 100000 }
workers:
  split:
    function: words
    inputs: [source]
    outputs: [sink]
    guarantee: exactly-once
    replicas: 2
faults:
  - { from: split, to: sink, drop: 0.1, dup: 0.05 }
`;

describe('topology files', () => {
  it("reads the issue's example into a checked topology", () => {
    const topology = parseTopology(GOOD, { file: join(DIR, 'pipeline.yaml') });
    expect(topology.name).toBe('pipeline');
    expect(topology.queues.map((queue) => [queue.name, queue.address, queue.dataDir])).toEqual([
      ['source', { host: '127.0.0.1', port: 0 }, undefined],
      ['sink', { host: '127.0.0.1', port: 0 }, join(DIR, 'data/sink')],
    ]);
    expect(topology.queues[1]?.flags).toEqual([
      ['fsync', 'always'],
      ['max-messages', '100000'],
    ]);
    expect(topology.workers[0]).toMatchObject({ name: 'split', function: 'words', functionArg: 'words', inputs: ['source'], outputs: ['sink'], guarantees: ['exactly-once'], replicas: 2 });
    expect(topology.faults).toEqual([
      { edge: 'split->sink', from: 'split', to: 'sink', queue: 'sink', worker: 'split', kind: 'output', drop: 0.1, dup: 0.05, reorder: 0, delayMs: 0, corrupt: 0, seed: undefined },
    ]);
  });

  it('reads JSON the same way, with lines in its messages too', () => {
    const json = JSON.stringify({ queues: { q: {} }, workers: { w: { function: 'pong', inputs: ['q'], outputs: ['q'], replicas: 0 } } }, null, 2);
    expect(problemsOf(json)).toEqual(['pipeline.yaml:14: workers.w.replicas: must be an integer from 1 to 64, got 0']);
    const topology = parseTopology(JSON.stringify({ queues: { q: null } }), { file: join(DIR, 'one.json') });
    expect(topology.name).toBe('one');
  });

  it('names the file, line and key of a wrong value', () => {
    const source = GOOD.replace('replicas: 2', 'replicas: two');
    expect(problemsOf(source)).toEqual(['pipeline.yaml:10: workers.split.replicas: must be an integer from 1 to 64, got "two"']);
  });

  it('reports unknown keys at every level, and every problem at once', () => {
    const source = `colour: red
queues:
  source: { adress: 127.0.0.1:1 }
workers:
  split:
    function: words
    inputs: [source]
    outputs: [source]
    guarantees: exactly-once
faults:
  - { from: source, to: split, drop: 1.5, wobble: 1 }
`;
    const problems = problemsOf(source);
    expect(problems).toContain('pipeline.yaml:1: colour: unknown key; known keys: $schema, name, auth-key-file, queues, workers, faults');
    expect(problems.find((line) => line.startsWith('pipeline.yaml:3: queues.source.adress: unknown key; known keys: address,'))).toBeDefined();
    expect(problems.find((line) => line.startsWith('pipeline.yaml:9: workers.split.guarantees: unknown key'))).toBeDefined();
    expect(problems).toContain('pipeline.yaml:11: faults[0].drop: must be a probability from 0 to 1, got 1.5');
    expect(problems.find((line) => line.startsWith('pipeline.yaml:11: faults[0].wobble: unknown key'))).toBeDefined();
    expect(problems).toHaveLength(5);
  });

  it('reports missing keys, names that do not resolve and edges that do not exist', () => {
    expect(problemsOf('workers: {}\n')).toEqual(['pipeline.yaml:1: queues: is required: a topology needs at least one queue']);
    expect(problemsOf('queues:\n  q: {}\nworkers:\n  w:\n    inputs: [q]\n')).toEqual([
      'pipeline.yaml:4: workers.w.function: is required',
      'pipeline.yaml:4: workers.w.outputs: is required',
    ]);
    const wrongNames = problemsOf('queues:\n  a: {}\n  b: {}\nworkers:\n  w:\n    function: nosuch\n    inputs: [a]\n    outputs: [c]\nfaults:\n  - { from: b, to: w, drop: 0.1 }\n');
    expect(wrongNames).toEqual([
      expect.stringMatching(/^pipeline\.yaml:6: workers\.w\.function: unknown built-in "nosuch"; built-ins: pong, passthrough/),
      'pipeline.yaml:8: workers.w.outputs: no queue named "c"; queues: a, b',
      'pipeline.yaml:10: faults[0]: no edge b->w; edges: a->w, w->c',
    ]);
    expect(problemsOf('queues:\n  q: {}\nworkers:\n  w:\n    function: ./missing.mjs\n    inputs: [q]\n    outputs: [q]\n')).toEqual([
      `pipeline.yaml:5: workers.w.function: no such module: ${join(DIR, 'missing.mjs')}`,
    ]);
  });

  it('checks what the CLIs would refuse, before starting anything', () => {
    const problems = problemsOf(`queues:
  a: { fsync: always, address: 127.0.0.1:7000, dead-letter: b }
  b: { address: 127.0.0.1:7000, dead-letter: a, data-dir: ./x }
  c: { data-dir: ./x, dead-letter: "bad name!" }
workers:
  a: { function: pong, inputs: [a], outputs: [a], guarantee: [at-most-once, exactly-once] }
  w: { function: pong, inputs: [a], outputs: [127.0.0.1:9], output-type: socket, guarantee: exactly-once, replicas: 2, metrics-address: 127.0.0.1:9100 }
`);
    expect(problems).toEqual([
      'pipeline.yaml:6: workers.a: is also the name of a queue: names are shared by queues and workers',
      'pipeline.yaml:2: queues.a.fsync: needs data-dir (a queue without one keeps its messages in memory)',
      'pipeline.yaml:3: queues.b.address: 127.0.0.1:7000 is also the address of queue a',
      'pipeline.yaml:4: queues.c.data-dir: is also the data-dir of queue b: two nodes cannot share one',
      'pipeline.yaml:4: queues.c.dead-letter: must be a queue of this file, a local queue name or host:port, got "bad name!"',
      'pipeline.yaml:2: queues.a.dead-letter: dead letters go round in a circle: a -> b -> a',
      'pipeline.yaml:6: workers.a.guarantee: give one for all inputs or one per input (1), got 2',
      'pipeline.yaml:7: workers.w.guarantee: exactly-once needs queue outputs: a plain UDP listener cannot drop duplicates',
      'pipeline.yaml:7: workers.w.metrics-address: one fixed port cannot serve 2 replicas: use port 0 or replicas: 1',
    ]);
  });

  it('reports YAML syntax errors and duplicate keys with their line', () => {
    expect(problemsOf('queues:\n  q: {}\n  q: {}\n')[0]).toMatch(/^pipeline\.yaml:3: Map keys must be unique/);
    expect(problemsOf('queues:\n  q: [unclosed\n')[0]).toMatch(/^pipeline\.yaml:\d+: /);
    expect(problemsOf('- just\n- a list\n')).toEqual(['pipeline.yaml:1: a topology file is a map with queues (required), workers and faults']);
  });

  it('resolves paths from the file, not from the current directory', async () => {
    const dir = mkdtempSync(join(DIR, 'sub-'));
    writeFileSync(join(dir, 'fn.mjs'), 'export default (m) => m;\n');
    writeFileSync(join(dir, 't.yaml'), 'queues:\n  q: { data-dir: data, log-dir: ./logs }\nworkers:\n  w: { function: ./fn.mjs, inputs: q, outputs: q }\n');
    const topology = await loadTopology(join(dir, 't.yaml'));
    expect(topology.queues[0]?.dataDir).toBe(join(dir, 'data'));
    expect(topology.queues[0]?.flags).toEqual([['log-dir', join(dir, 'logs')]]);
    expect(topology.workers[0]?.functionArg).toBe(join(dir, 'fn.mjs'));
    await expect(loadTopology(join(dir, 'none.yaml'))).rejects.toThrow(/none\.yaml: cannot read the topology file/);
  });
});

describe('the format against the CLIs and the shipped schema', () => {
  /** Long flags a CLI's --help lists. */
  function flagsOf(pkg: string, bin: string): string[] {
    const help = execFileSync(process.execPath, [resolveBin(pkg, bin), '--help'], { encoding: 'utf8' });
    // Option lines only (`  --flag ...` or `  -h, --help`), not the examples below them.
    return [...new Set([...help.matchAll(/^\s+(?:-\w, )?--([a-z][a-z-]+)/gm)].map((match) => match[1] as string))];
  }

  it('has a key for every streampy-mq and streampy-worker option', () => {
    // Not for a running node: help, version, one-shot modes; --json is the runner's to set.
    const runnerOwned = ['help', 'version', 'json', 'verify'];
    const queueKeys = QUEUE_KEYS.map((spec) => spec.key);
    const workerKeys = WORKER_KEYS.map((spec) => spec.key).flatMap((key) => (key === 'inputs' ? ['input-address', 'input-id'] : key === 'outputs' ? ['output-address'] : [key]));
    expect(flagsOf('@streampy/mq', 'streampy-mq').filter((flag) => !runnerOwned.includes(flag) && !queueKeys.includes(flag))).toEqual([]);
    expect(flagsOf('@streampy/worker', 'streampy-worker').filter((flag) => !runnerOwned.includes(flag) && !workerKeys.includes(flag))).toEqual([]);
  });

  it('ships the JSON Schema the key tables make, and the schema lists every key', () => {
    const shipped = JSON.parse(readFileSync(new URL('../schema/topology.schema.json', import.meta.url), 'utf8')) as ReturnType<typeof topologySchema>;
    expect(shipped).toEqual(JSON.parse(JSON.stringify(topologySchema())));
    const properties = shipped.properties as Record<string, { additionalProperties?: { oneOf?: { properties?: object }[]; properties?: object }; items?: { properties?: object } }>;
    expect(Object.keys(properties.queues?.additionalProperties?.oneOf?.[1]?.properties ?? {})).toEqual(QUEUE_KEYS.map((spec) => spec.key));
    expect(Object.keys(properties.workers?.additionalProperties?.properties ?? {})).toEqual(WORKER_KEYS.map((spec) => spec.key));
    expect(Object.keys(properties.faults?.items?.properties ?? {})).toEqual(FAULT_KEYS.map((spec) => spec.key));
  });
});

describe('the README', () => {
  it('documents every key of the format', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const section = (from: string, to: string): string => readme.slice(readme.indexOf(from), readme.indexOf(to));
    const missing = (text: string, keys: readonly { key: string }[]): string[] => keys.map((spec) => spec.key).filter((key) => !text.includes(`\`${key}\``));
    expect(missing(section('### Queues', '### Workers'), QUEUE_KEYS)).toEqual([]);
    expect(missing(section('### Workers', '### Faults'), WORKER_KEYS)).toEqual([]);
    expect(missing(section('### Faults', '## streampy-run'), FAULT_KEYS)).toEqual([]);
  });
});
