import { FAULT_KEYS, QUEUE_KEYS, WORKER_KEYS, type KeySpec } from './keys.js';
import { NAME_PATTERN, type JsonSchema } from './values.js';

function object(keys: readonly KeySpec[], description: string): JsonSchema {
  return {
    type: 'object',
    description,
    additionalProperties: false,
    properties: Object.fromEntries(keys.map((spec) => [spec.key, { description: spec.help, ...spec.type.schema }])),
    ...(keys.some((spec) => spec.required === true) ? { required: keys.filter((spec) => spec.required === true).map((spec) => spec.key) } : {}),
  };
}

/**
 * The JSON Schema of a topology file, built from the same key tables the validator reads (so
 * the two cannot disagree); shipped as schema/topology.schema.json. What it cannot say (names
 * that must resolve, edges that must exist) the validator checks too.
 */
export function topologySchema(): JsonSchema {
  const names = { type: 'object', propertyNames: { pattern: NAME_PATTERN.source } };
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: 'streampy topology',
    description: 'Queue nodes, workers and fault proxies that streampy-run starts and supervises.',
    type: 'object',
    additionalProperties: false,
    required: ['queues'],
    properties: {
      $schema: { type: 'string', description: 'the JSON Schema of this format, for editors (ignored)' },
      name: { type: 'string', pattern: NAME_PATTERN.source, description: "the topology's name (default: the file's base name)" },
      'auth-key-file': { type: 'string', minLength: 1, description: 'a shared key file for every process and the runner: datagrams signed and checked (relative to the file)' },
      queues: { ...names, minProperties: 1, description: 'queue nodes by name: each a streampy-mq process', additionalProperties: { oneOf: [{ type: 'null' }, object(QUEUE_KEYS, 'one streampy-mq process')] } },
      workers: { ...names, description: 'workers by name: each one or more streampy-worker processes', additionalProperties: object(WORKER_KEYS, 'streampy-worker processes (replicas) running one function') },
      faults: { type: 'array', description: 'fault proxies, one per edge (a streampy-proxy process; faults apply both ways)', items: object(FAULT_KEYS, 'faults on one edge') },
    },
  };
}
