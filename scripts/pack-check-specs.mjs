// What the pack check expects of each published package beyond the common rules: a few exports
// that must be there at run time, and a TypeScript consumer that uses the shipped types for real
// (each `@ts-expect-error` fails the check if the types went `any` or too loose). The README's
// "Use it from code" snippets are run and type-checked as well (scripts/pack-check.mjs).

/** @type {Record<string, { exports: string[], types: string, tsconfig?: object, alone?: boolean }>} */
export const SPECS = {
  '@streampy/codec': {
    exports: ['encodeFrame', 'decodeFrame', 'FrameDecoder', 'parseRequest', 'parseReply', 'ReplyWriter', 'StreampyError', 'isStreampyError', 'CodecError'],
    // Runs in any JavaScript runtime: its types must need neither Node nor DOM typings.
    tsconfig: { lib: ['es2022'], types: [] },
    alone: true,
    types: `import { CodecError, FrameDecoder, decodeFrame, encodeFrame, parseRequest, readFrameHeader, type CodecErrorCode, type Request } from '@streampy/codec';
const frame: Uint8Array = encodeFrame('x');
const length: bigint = readFrameHeader(frame).declaredLength;
const payloads: Uint8Array[] = new FrameDecoder({ maxFrameBytes: 1024 }).push(frame);
const request: Request = parseRequest(decodeFrame(frame));
const body: Uint8Array | undefined = request.verb === 'PUT' ? request.body : undefined;
const code: CodecErrorCode = new CodecError('ERR_EMPTY', 'x').code;
// @ts-expect-error a number is not a payload
encodeFrame(42);
// @ts-expect-error not a CodecErrorCode
const wrong: CodecErrorCode = 'ERR_NOPE';
export { body, code, length, payloads, wrong };
`,
  },
  '@streampy/runtime': {
    exports: ['createLogger', 'parseHostPort', 'formatHostPort', 'runCommand', 'systemClock', 'seededRandom', 'createAuthenticator', 'startMetricsServer'],
    types: `import { createLogger, parseHostPort, seededRandom, systemClock, type HostPort, type LogLevel, type Logger } from '@streampy/runtime';
const address: HostPort = parseHostPort('127.0.0.1:10000');
const logger: Logger = createLogger({ name: 'x', level: 'warn', format: 'json' });
const level: LogLevel = logger.level;
const now: number = systemClock.now();
const draw: number = seededRandom(1)();
// @ts-expect-error not a log level
createLogger({ name: 'x', level: 'loud' });
// @ts-expect-error a port is a number
const port: string = address.port;
export { draw, level, now, port };
`,
  },
  '@streampy/client': {
    exports: ['createClient', 'ClientError', 'TimeoutError', 'RemoteError', 'QueueFullError'],
    types: `import { createClient, type ClientOptions, type PutResult, type QueueClient } from '@streampy/client';
const options: ClientOptions = { address: '127.0.0.1:10000', timeoutMs: 100, retries: 0 };
const client: QueueClient = await createClient(options);
const put: PutResult = await client.put('ping', { key: 'k1' });
const size: number = await client.size();
const body: Uint8Array | undefined = await client.get();
// @ts-expect-error a put takes a key, not a number
await client.put('ping', { key: 1 });
// @ts-expect-error the protocol is 'seed' or 'extended'
await createClient({ address: '127.0.0.1:1', protocol: 'tcp' });
await client.close();
export { body, put, size };
`,
  },
  '@streampy/mq': {
    exports: ['createQueueNode', 'createMemoryEngine', 'createLogEngine', 'verifyDataDir', 'MqError', 'MAX_MESSAGE_BYTES'],
    types: `import { createQueueNode, type NodeStats, type QueueNode } from '@streampy/mq';
const node: QueueNode = await createQueueNode({ address: '127.0.0.1:0', maxMessages: 10 });
const stats: NodeStats = node.stats();
const port: number = node.address.port;
// @ts-expect-error fsync is a policy, not a boolean
await createQueueNode({ dataDir: 'data', fsync: true });
await node.close();
export { port, stats };
`,
  },
  '@streampy/worker': {
    exports: ['createWorker', 'BUILTIN_FUNCTIONS', 'GUARANTEES', 'WorkerError', 'loadWorkerFunction', 'outputKey'],
    types: `import { createWorker, type Guarantee, type Worker, type WorkerFunction, type WorkerStats } from '@streampy/worker';
const fn: WorkerFunction = (message) => message.toUpperCase();
const guarantee: Guarantee = 'exactly-once';
const worker: Worker = createWorker({ inputs: ['127.0.0.1:10000'], outputs: ['127.0.0.1:10001'], fn, guarantee });
const stats: WorkerStats = worker.stats();
// @ts-expect-error not a guarantee
const loose: Guarantee = 'maybe-once';
export { loose, stats };
`,
  },
  '@streampy/chaos': {
    exports: ['createFaultProxy', 'runCheck', 'judge', 'validateFaultSpec', 'ChaosError', 'formatCheckReport'],
    types: `import { createFaultProxy, judge, runCheck, type CheckReport, type FaultProxy, type Verdict } from '@streampy/chaos';
const proxy: FaultProxy = await createFaultProxy({ target: '127.0.0.1:10000', toTarget: { drop: 0.1 } });
const report: CheckReport = await runCheck({ source: proxy.address, sink: '127.0.0.1:10001', messages: 10 });
const verdict: Verdict = judge('at-least-once', report);
// @ts-expect-error a probability is a number
await createFaultProxy({ target: '127.0.0.1:10000', toTarget: { drop: 'often' } });
// @ts-expect-error not a guarantee
judge('twice', report);
await proxy.close();
export { verdict };
`,
  },
  '@streampy/topology': {
    exports: ['parseTopology', 'loadTopology', 'startTopology', 'checkTopology', 'topologySchema', 'TopologyError'],
    types: `import { checkTopology, parseTopology, startTopology, type RunningTopology, type Topology, type TopologySnapshot } from '@streampy/topology';
const topology: Topology = parseTopology('queues: { jobs: {} }', { file: 'inline.yaml' });
const running: RunningTopology = await startTopology(topology);
const { verdict } = await checkTopology(running, { messages: 10 });
running.snapshots.subscribe((snapshot: TopologySnapshot) => snapshot.queues.length);
// @ts-expect-error parseTopology needs to know the file name
parseTopology('queues: {}');
await running.stop();
export { verdict };
`,
  },
};
