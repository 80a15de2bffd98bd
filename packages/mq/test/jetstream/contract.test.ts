import { natsServerMissing, startNats, type NatsHandle } from '@streampy/testing';
import { afterAll, beforeAll, describe } from 'vitest';
import { describeBackendContract } from '../contract/backend-contract.js';
import { jetstreamHarness } from './harness.js';

const missing = natsServerMissing();
if (missing !== undefined) console.warn(`SKIPPED: the JetStream backend contract needs nats-server: ${missing}`);

describe.skipIf(missing !== undefined)('JetStream backend', () => {
  let nats: NatsHandle;
  beforeAll(async () => {
    nats = await startNats();
  });
  afterAll(async () => {
    await nats?.stop();
  });
  // A 2 s dedup window: the contract sleeps through one and a half of it on the real clock.
  describeBackendContract('JetStream backend, one nats-server', (limits) => jetstreamHarness(nats.url, limits), { dedupWindowMs: 2_000 });
});
