import { TestPeer, silentLogger } from '@streampy/testing';
import { afterEach } from 'vitest';
import { createQueueNode, type QueueNode, type QueueNodeOptions } from '../src/index.js';

export { TestPeer, silentLogger, text, waitFor } from '@streampy/testing';

/**
 * Per-test fixtures: `setup()` starts a silent node and a peer, both closed after each test.
 * Call once at the top of a test file.
 */
export function nodeFixtures(): (options?: QueueNodeOptions) => Promise<{ node: QueueNode; peer: TestPeer }> {
  const nodes: QueueNode[] = [];
  const peers: TestPeer[] = [];
  afterEach(async () => {
    for (const peer of peers.splice(0)) await peer.close();
    for (const node of nodes.splice(0)) await node.close();
  });
  return async (options = {}) => {
    const node = await createQueueNode({ logger: silentLogger(), ...options });
    const peer = await TestPeer.open();
    nodes.push(node);
    peers.push(peer);
    return { node, peer };
  };
}
