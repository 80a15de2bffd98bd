import { readdirSync } from 'node:fs';
import type { Logger } from '@streampy/runtime';
import { queueNameOfDir } from './queue-dir.js';

/** The queues a data directory holds (one subdirectory each), sorted; none when it does not exist yet. */
export function storedQueueNames(dataDir: string | undefined, logger: Logger): string[] {
  if (dataDir === undefined) return [];
  let entries;
  try {
    entries = readdirSync(dataDir, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const names: string[] = [];
  for (const entry of entries) {
    if (!entry.isDirectory()) continue;
    const name = queueNameOfDir(entry.name);
    if (name !== undefined) names.push(name);
    else logger.warn('ignoring a data directory entry that is not a queue name', { entry: entry.name });
  }
  return names.sort();
}
