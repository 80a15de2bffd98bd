import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogEngine } from '../../src/storage/log.js';
import { describeBackendContract } from './backend-contract.js';
import { localHarness } from './local-harness.js';

describeBackendContract('local backend, log engine (fsync always)', (limits) => {
  const dir = mkdtempSync(join(tmpdir(), 'mq-contract-'));
  return localHarness(limits, createLogEngine({ dir: join(dir, 'q'), fsync: 'always' }), () => rmSync(dir, { recursive: true, force: true }));
});
