import { readdirSync } from 'node:fs';
import { isQueueName } from '@streampy/codec';
import type { Logger } from '@streampy/runtime';

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
    if (isQueueName(entry.name)) names.push(entry.name);
    else logger.warn('ignoring a data directory entry that is not a queue name', { entry: entry.name });
  }
  return names.sort();
}
