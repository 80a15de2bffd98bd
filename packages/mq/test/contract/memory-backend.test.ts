import { createMemoryEngine } from '../../src/storage/memory.js';
import { describeBackendContract } from './backend-contract.js';
import { localHarness } from './local-harness.js';

describeBackendContract('local backend, memory engine', (limits) => localHarness(limits, createMemoryEngine()));
